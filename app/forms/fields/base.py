"""What every field type is: the shared keys of a field, and what the form engine asks
of each type (Open Forms registers its components the same way).

A field type is one class: its pydantic model (the keys an author writes) with the
type's normaliser, validator, JSON Schema, definition check and the few facts other
modules ask about (may it be compared in a condition, can it serve as a fee quantity,
does it hold a 個人番号). `register_field_type` files it under its `type` name; the
definition language's field unions are built from that registry
(`app.forms.fields`). A new field type is a new module, not an edit to five.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, get_args

from pydantic import Field

from app.forms.conditions import ConditionTest, compile_condition
from app.forms.language import KEY_PATTERN, Condition, Localized, Option, Strict
from app.forms.normalize import normalize_text
from app.forms.validation import pointer

if TYPE_CHECKING:
    from app.forms.attachments import AttachmentFacts
    from app.forms.definition_check import DefinitionChecker
    from app.forms.json_schema import SchemaBuilder
    from app.forms.validation import AnswerChecker

Schema = dict[str, Any]
QuantityKind = Literal["answer", "item_count"]


class FieldDefinition(Strict):
    """The keys every field has; subclasses add `type: Literal[...]` and their own."""

    key: str = Field(pattern=KEY_PATTERN)
    label: Localized
    help: Localized | None = None
    required: bool = False
    when: Condition | None = None
    """Shown, and required if `required`, only when this condition holds."""
    prefill_when: Condition | None = None
    """With the type's `prefill`: the card's fact is this answer only when this holds
    (the insured person's 氏名 when the insured person applies); filled from the card
    and compared with the signer (本人確認) only then."""
    type: str
    """The registered name of the field type; each type narrows it to its Literal."""

    # --- derived once per (immutable) field, read for every answer ----------------------

    @cached_property
    def when_holds(self) -> ConditionTest:
        """`when`, compiled: whether the field is shown (its step being shown)."""
        return compile_condition(self.when)

    @cached_property
    def pointer_segment(self) -> str:
        """`/key`: the JSON Pointer of a top-level answer, and of an answer inside a
        group item relative to the item."""
        return pointer("", self.key)

    # --- facts about the type ----------------------------------------------------------

    comparable: ClassVar[bool] = True
    """May be named in a condition (表示条件) or compared to a value."""
    numeric: ClassVar[bool] = False
    """Takes the numeric comparisons (greater_than ...); operands are numbers."""
    multiple_choice: ClassVar[bool] = False
    """The answer is a list of option values: conditions use `contains`, not `equals`."""
    allowed_in_group: ClassVar[bool] = True
    """May be an inner field of a repeating group."""
    quantity: ClassVar[QuantityKind | None] = None
    """How a fee rule may count with it: its whole-number answer, or its item count."""
    is_my_number: ClassVar[bool] = False
    """Holds a 個人番号: encrypted at rest, masked for staff (app.submissions.my_number)."""
    references_attachments: ClassVar[bool] = False
    """Its answer names uploaded attachments, checked through app.forms.attachments."""
    server_only_rules: ClassVar[tuple[str, ...]] = ()
    """Rules of this type JSON Schema cannot state (see json_schema.SERVER_ONLY_RULES)."""

    @property
    def needed(self) -> bool:
        """An answer must be given when the field is shown (a draft excepted)."""
        return self.required

    @property
    def item_fields(self) -> Sequence[FieldDefinition]:
        """The inner fields of a repeating group; none for other types."""
        return ()

    @property
    def never_negative(self) -> bool:
        """A `quantity == "answer"` field whose answer can never be below zero."""
        return False

    def single_choice_options(self) -> Sequence[Option] | None:
        """The options when the answer is exactly one of them (select, radio)."""
        return None

    # --- normalisation (正規化) ----------------------------------------------------------

    def normalize(self, value: Any) -> Any:
        """The canonical form of a non-null answer, or None when it counts as not
        answered. Values of the wrong shape are returned for `check` to report."""
        text = normalize_text(value)
        if not isinstance(text, str):
            return text
        return self.canonical_text(text) or None

    def canonical_text(self, text: str) -> str:
        """A string answer's canonical form, from NFKC-normalised, stripped text."""
        return text

    # --- validation (入力チェック) --------------------------------------------------------

    def check(self, value: Any, checker: AnswerChecker, path: str, *, complete: bool) -> Any:
        """Report what is wrong with a canonical answer; returns the value to keep.
        `complete`: the field is shown and this is not a draft."""
        if checker.is_string(value, path):
            self.check_text(value, checker, path)
        return value

    def check_text(self, value: str, checker: AnswerChecker, path: str) -> None:
        """What a string answer of this type must look like."""

    def report_missing(self, checker: AnswerChecker, path: str) -> None:
        """The field is shown, complete answers are due, and it was not answered."""
        if self.required:
            checker.required(path)

    # --- JSON Schema -------------------------------------------------------------------

    def json_schema(self, builder: SchemaBuilder, prefix: str) -> tuple[Schema, Schema]:
        """(value schema, completeness schema): what every answer sent must satisfy,
        and what a shown field's answer must also satisfy (consent given, parts given)."""
        return self.value_schema(), self.completeness_schema()

    def value_schema(self) -> Schema:
        raise NotImplementedError

    def completeness_schema(self) -> Schema:
        return {}

    def schema_annotations(self) -> Schema:
        """What a renderer needs beyond JSON Schema, under the field's `x-madoguchi`."""
        if self.server_only_rules:
            return {"server_only_rules": list(self.server_only_rules)}
        return {}

    # --- definition check (定義チェック) ---------------------------------------------------

    def check_definition(self, checker: DefinitionChecker, path: str) -> None:
        """Rules of this type that pydantic's shape check cannot see."""

    def operand_expectation(self, operand: Any) -> tuple[str, str] | None:
        """None when `operand` can be a canonical answer of this field, for a condition
        to compare with; else what is expected instead (ja, en)."""
        if isinstance(operand, str) and self.normalize(operand) == operand:
            return None
        return "正規化された形の文字列", "a string in canonical form"

    # --- attachments (添付ファイル) ---------------------------------------------------------

    def attachment_ids(self, value: Any) -> list[tuple[int, uuid.UUID]]:
        """(index in the answer, id) of each attachment a canonical answer names."""
        return []

    def attachment_problem(self, facts: AttachmentFacts) -> tuple[str, str, str] | None:
        """(code, message ja, message en) when a named attachment does not fit the field."""
        return None

    # --- ワンスオンリー (prefill from the My Number card) ----------------------------------

    def prefilled(self, value: Any, current: Any) -> Any:
        """The answer a card fact gives this field (`current`: the answer already
        there), or None when the fact does not fit."""
        return value

    def prefill_fact_of(self, answer: Any) -> Any:
        """The part of an answer that states the card fact this field is filled from
        (the inverse of `prefilled`), e.g. to compare it with a signer's facts."""
        return answer


_FIELD_TYPES: dict[str, type[FieldDefinition]] = {}

FieldType = TypeVar("FieldType", bound=type[FieldDefinition])


def register_field_type(cls: FieldType) -> FieldType:
    """File a field type under the `type` it declares (`type: Literal["text"]`)."""
    (name,) = get_args(cls.__pydantic_fields__["type"].annotation)
    if name in _FIELD_TYPES:
        raise ValueError(f"field type {name!r} is registered twice")
    _FIELD_TYPES[name] = cls
    return cls


def registered_field_types() -> dict[str, type[FieldDefinition]]:
    """Every field type by name, in registration order."""
    return dict(_FIELD_TYPES)
