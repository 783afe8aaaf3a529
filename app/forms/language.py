"""The nodes every part of the definition language shares: texts in two languages,
options, and conditions (表示条件).

Field types (`app.forms.fields`), steps and fee rules (`app.forms.definition`) are
built from these; `app.forms.definition` re-exports them.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
PROCEDURE_CODE_PATTERN = r"^[a-z][a-z0-9_-]{1,63}$"


class Strict(BaseModel):
    """A node of the definition language: unknown keys are errors, values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(Strict):
    """A user-facing text in Japanese, with its English counterpart."""

    ja: str = Field(min_length=1)
    en: str | None = None


class Option(Strict):
    value: str = Field(min_length=1, max_length=100)
    label: Localized


# --- Conditions --------------------------------------------------------------------------
# A condition is evaluated over the answers of fields defined *earlier* in the form
# (for a field inside a repeating group: earlier fields of the same group item). That
# keeps conditions acyclic and lets the compiler express them as JSON Schema if/then.

Scalar = str | int | float | bool


class Comparison(Strict):
    """One test on one field's answer. Exactly one operator is given."""

    field: str = Field(pattern=KEY_PATTERN)
    equals: Scalar | None = None
    not_equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    contains: Scalar | None = None
    greater_than: float | None = None
    greater_or_equal: float | None = None
    less_than: float | None = None
    less_or_equal: float | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _exactly_one_operator(self) -> Comparison:
        given = [name for name in OPERATORS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "a comparison needs exactly one operator of "
                "equals, not_equals, in, contains, greater_than, greater_or_equal, "
                f"less_than, less_or_equal (got {given or 'none'})"
            )
        return self

    # Read on every evaluation of every condition: found once per (immutable) comparison.
    @cached_property
    def operator(self) -> str:
        return next(name for name in OPERATORS if getattr(self, name) is not None)

    @cached_property
    def operand(self) -> Any:
        return getattr(self, self.operator)


OPERATORS = (
    "equals",
    "not_equals",
    "in_",
    "contains",
    "greater_than",
    "greater_or_equal",
    "less_than",
    "less_or_equal",
)
NUMERIC_OPERATORS = frozenset({"greater_than", "greater_or_equal", "less_than", "less_or_equal"})


class AllOf(Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(Strict):
    any: list[Condition] = Field(min_length=1)


class Not(Strict):
    not_: Condition = Field(alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _condition_kind(value: Any) -> str:
    if isinstance(value, dict):
        for kind in ("all", "any", "not"):
            if kind in value:
                return kind
        return "comparison"
    if isinstance(value, AllOf):
        return "all"
    if isinstance(value, AnyOf):
        return "any"
    if isinstance(value, Not):
        return "not"
    return "comparison"


Condition = Annotated[
    Annotated[Comparison, Tag("comparison")]
    | Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")],
    Discriminator(_condition_kind),
]

for _model in (AllOf, AnyOf, Not):
    _model.model_rebuild()
