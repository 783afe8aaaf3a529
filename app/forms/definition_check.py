"""Checking an authored definition (定義チェック): its shape, then the rules that span nodes.

Every problem is reported at once, at the JSON Pointer of the offending node in the
document the author wrote. Shape errors come from pydantic; when the shape is wrong
the cross-node rules cannot run yet, so those are reported on the next attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from app.errors import AppError, FieldError
from app.forms.conditions import comparisons
from app.forms.definition import (
    NUMERIC_OPERATORS,
    Comparison,
    Condition,
    Exemption,
    FeeRule,
    FieldDefinition,
    GroupField,
    PerOptionFee,
    PerUnitFee,
    ProcedureDefinition,
)
from app.forms.fees import field_at
from app.forms.validation import pointer

AnyField = FieldDefinition
_Bound = TypeVar("_Bound", int, float, str, date)


class DefinitionInvalid(AppError, code="DEFINITION_INVALID", status=422):
    """A procedure definition breaks the definition language's rules."""


def check_definition(data: Mapping[str, Any]) -> ProcedureDefinition:
    """Parse an authored definition and check it, or raise `DefinitionInvalid`."""
    try:
        # pydantic reads a dict; a YAML loader or a caller may hand any Mapping.
        definition = ProcedureDefinition.model_validate(
            dict(data) if isinstance(data, Mapping) else data
        )
    except ValidationError as exc:
        raise _invalid([_shape_problem(error, data) for error in exc.errors()]) from None
    raise_for_problems(definition)
    return definition


def raise_for_problems(definition: ProcedureDefinition) -> None:
    """Raise `DefinitionInvalid` if a parsed definition breaks a cross-node rule."""
    problems = DefinitionChecker(definition).problems()
    if problems:
        raise _invalid(problems)


def _invalid(problems: list[FieldError]) -> DefinitionInvalid:
    return DefinitionInvalid(
        f"The definition has {len(problems)} problem(s).",
        f"定義に{len(problems)}件の誤りがあります。",
        errors=problems,
    )


# --- shape errors from pydantic -------------------------------------------------------------

_SHAPE_MESSAGES_JA = {
    "missing": "必須のキーがありません",
    "extra_forbidden": "このキーは定義できません（綴りを確認してください）",
    "string_type": "文字列で書いてください",
    "int_type": "整数で書いてください",
    "int_parsing": "整数で書いてください",
    "float_type": "数値で書いてください",
    "bool_type": "true か false で書いてください",
    "list_type": "リストで書いてください",
    "dict_type": "キーと値の組で書いてください",
    "model_type": "キーと値の組で書いてください",
    "model_attributes_type": "キーと値の組で書いてください",
    "string_pattern_mismatch": "書式が正しくありません",
    "string_too_short": "空にできません",
    "too_short": "少なくとも1つ必要です",
    "greater_than_equal": "値が小さすぎます",
    "less_than_equal": "値が大きすぎます",
    "literal_error": "使用できない値です",
}


def _shape_problem(error: ErrorDetails, data: Any) -> FieldError:
    kind = error["type"]
    path = _locate(data, error["loc"])
    context = error.get("ctx", {})
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        # An unknown (or missing) field `type` / fee rule `kind`: point at that key.
        discriminator = str(context.get("discriminator", "")).strip("'")
        path = pointer(path, discriminator)
        if kind == "union_tag_not_found":
            return FieldError(
                path, "missing", "必須のキーがありません", f"'{discriminator}' is required"
            )
        tag, expected = context.get("tag"), context.get("expected_tags")
        code = "unknown_field_type" if discriminator == "type" else "unknown_fee_kind"
        return FieldError(
            path,
            code,
            f"「{tag}」は使用できない種類です（使用できるもの: {expected}）",
            f"Unknown {discriminator} '{tag}' (expected one of {expected})",
        )
    message_en = error["msg"].removeprefix("Value error, ")
    if kind == "value_error":
        message_ja = f"定義の内容に誤りがあります: {message_en}"
    else:
        message_ja = _SHAPE_MESSAGES_JA.get(kind, "値が正しくありません")
    return FieldError(path, kind, message_ja, message_en)


def _locate(data: Any, loc: tuple[int | str, ...]) -> str:
    """The JSON Pointer of a pydantic `loc` in the authored data.

    pydantic puts the tag of a discriminated union ("text", "per_unit", "comparison",
    "all") into `loc` just before the member's own keys; those segments are skipped.
    A key that is not in the data (a missing one) is kept.
    """
    path, node, tag_skipped = "", data, False
    for segment in loc:
        # The tag comes once, before the key of the same name for all/any/not.
        if not tag_skipped and isinstance(node, Mapping) and segment in _union_tags(node):
            tag_skipped = True
            continue
        node = _child(node, segment)
        tag_skipped = False
        path = pointer(path, segment)
    return path


def _child(node: Any, segment: int | str) -> Any:
    if isinstance(node, Mapping):
        return node.get(segment)
    if isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
        return node[segment]
    return None


def _union_tags(node: Mapping[str, Any]) -> set[Any]:
    """The tags pydantic may have chosen for this node: field `type`, fee rule `kind`,
    or the kind of condition (see `language._condition_kind`)."""
    condition = next((kind for kind in ("all", "any", "not") if kind in node), "comparison")
    return {node.get("type"), node.get("kind"), condition}


# --- rules that span nodes ------------------------------------------------------------------

_TOP_LEVEL_HINT = (
    "条件で参照できるのは、この定義の項目だけです",
    "conditions refer to fields of this definition",
)
_GROUP_HINT = (
    "グループ内の条件は、同じグループの前の項目だけを参照できます",
    "a condition inside a group refers to earlier fields of the same group",
)


def _operator_name(comparison: Comparison) -> str:
    return "in" if comparison.operator == "in_" else comparison.operator


class DefinitionChecker:
    """Collects the problems of one parsed definition; field types report through it."""

    def __init__(self, definition: ProcedureDefinition) -> None:
        self.definition = definition
        self.errors: list[FieldError] = []
        self.top_level: dict[str, AnyField] = {}
        for step in definition.steps:
            for field in step.fields:
                self.top_level.setdefault(field.key, field)

    def report(self, path: str, code: str, message_ja: str, message_en: str) -> None:
        self.errors.append(FieldError(path, code, message_ja, message_en))

    def problems(self) -> list[FieldError]:
        self._steps()
        self._fee_rules()
        return self.errors

    # --- steps and fields --------------------------------------------------------------

    def _steps(self) -> None:
        step_keys: set[str] = set()
        earlier: dict[str, AnyField] = {}
        for step_index, step in enumerate(self.definition.steps):
            step_path = f"/steps/{step_index}"
            if step.key in step_keys:
                self.duplicate(f"{step_path}/key", step.key)
            step_keys.add(step.key)
            if step.when is not None:
                self._condition(step.when, f"{step_path}/when", earlier, self.top_level)
            for field_index, field in enumerate(step.fields):
                field_path = f"{step_path}/fields/{field_index}"
                if field.when is not None:
                    self._condition(field.when, f"{field_path}/when", earlier, self.top_level)
                if field.prefill_when is not None:
                    self._prefill_when(
                        field, field.prefill_when, f"{field_path}/prefill_when", earlier
                    )
                if field.key in earlier:
                    self.duplicate(f"{field_path}/key", field.key)
                field.check_definition(self, field_path)
                earlier.setdefault(field.key, field)

    def _prefill_when(
        self, field: AnyField, condition: Condition, path: str, earlier: Mapping[str, AnyField]
    ) -> None:
        """`prefill_when` narrows a `prefill`; like `when`, it reads earlier fields."""
        if getattr(field, "prefill", None) is None:
            self.report(
                path,
                "prefill_when_without_prefill",
                "prefill_when は prefill のある項目にだけ指定できます",
                "prefill_when needs the field's prefill",
            )
            return
        self._condition(condition, path, earlier, self.top_level)

    def duplicate(self, path: str, key: str) -> None:
        self.report(
            path,
            "duplicate_key",
            f"キー「{key}」が重複しています",
            f"The key '{key}' is used more than once",
        )

    def range(
        self, path: str, low_name: str, low: _Bound | None, high_name: str, high: _Bound | None
    ) -> None:
        if low is not None and high is not None and low > high:
            self.report(
                f"{path}/{low_name}",
                "min_greater_than_max",
                f"{low_name} が {high_name} より大きくなっています",
                f"{low_name} is greater than {high_name}",
            )

    def group_fields(self, group: GroupField, path: str) -> None:
        """A repeating group's inner fields: unique keys, conditions on earlier fields
        of the same group, and each field's own rules."""
        siblings = {field.key: field for field in reversed(group.fields)}
        earlier: dict[str, AnyField] = {}
        for index, field in enumerate(group.fields):
            field_path = f"{path}/fields/{index}"
            if field.when is not None:
                self._condition(field.when, f"{field_path}/when", earlier, siblings, _GROUP_HINT)
            if field.prefill_when is not None:
                self.report(
                    f"{field_path}/prefill_when",
                    "prefill_in_group",
                    "繰り返し項目の中の項目はカードから入力できません",
                    "A field inside a repeating group is not filled from the card",
                )
            if field.key in earlier:
                self.duplicate(f"{field_path}/key", field.key)
            field.check_definition(self, field_path)
            earlier.setdefault(field.key, field)

    # --- conditions --------------------------------------------------------------------

    def _condition(
        self,
        condition: Condition,
        path: str,
        earlier: Mapping[str, AnyField],
        scope: Mapping[str, AnyField],
        hint: tuple[str, str] = _TOP_LEVEL_HINT,
    ) -> None:
        """`earlier`: the fields the condition may refer to; `scope`: all fields it could
        name at this level (a name in `scope` but not in `earlier` comes too late)."""
        for comparison, comparison_path in comparisons(condition, path):
            key = comparison.field
            field_path = f"{comparison_path}/field"
            if key in earlier:
                self._operator(comparison, earlier[key], comparison_path)
            elif key in scope:
                self.report(
                    field_path,
                    "forward_reference",
                    f"条件で参照できるのは、これより前にある項目だけです（「{key}」は後にあります）",
                    f"A condition may only refer to fields defined before it ('{key}' is not)",
                )
            else:
                self.report(
                    field_path,
                    "unknown_reference",
                    f"「{key}」という項目はありません（{hint[0]}）",
                    f"There is no field '{key}' ({hint[1]})",
                )

    def _operator(self, comparison: Comparison, field: AnyField, path: str) -> None:
        """The operator and its value must fit the type of the field compared."""
        operator_path = f"{path}/{_operator_name(comparison)}"
        operator = comparison.operator
        if not field.comparable:
            self._mismatch(operator_path, f"{field.type} の項目は条件に使えません", field.type)
        elif operator in NUMERIC_OPERATORS:
            if not field.numeric:
                self._mismatch(
                    operator_path, "大小の比較は integer / number の項目にだけ使えます", field.type
                )
        elif operator == "contains":
            if field.multiple_choice:
                self._operand(field, comparison.operand, operator_path)
            else:
                self._mismatch(
                    operator_path, "contains は multiselect の項目にだけ使えます", field.type
                )
        elif field.multiple_choice:
            self._mismatch(
                operator_path, "multiselect の項目には contains を使ってください", field.type
            )
        elif operator == "in_":
            for index, operand in enumerate(comparison.operand):
                self._operand(field, operand, f"{operator_path}/{index}")
        else:
            self._operand(field, comparison.operand, operator_path)

    def _mismatch(self, path: str, message_ja: str, field_type: str) -> None:
        self.report(
            path,
            "operator_mismatch",
            message_ja,
            f"This operator cannot be used on a {field_type} field",
        )

    def _operand(self, field: AnyField, operand: Any, path: str) -> None:
        """A compared value must be a possible canonical answer of the field."""
        expected = field.operand_expectation(operand)
        if expected is not None:
            expected_ja, expected_en = expected
            self.report(
                path,
                "value_mismatch",
                f"比較する値「{operand}」は{field.key}の値になりえません（{expected_ja}で書いてください）",
                f"'{operand}' can never be an answer of '{field.key}' (expected {expected_en})",
            )

    # --- fee rules ---------------------------------------------------------------------

    def _fee_rules(self) -> None:
        rules: dict[str, FeeRule] = {}
        for index, rule in enumerate(self.definition.fee_rules):
            path = f"/fee_rules/{index}"
            if rule.key in rules:
                self.duplicate(f"{path}/key", rule.key)
            rules.setdefault(rule.key, rule)
            if rule.when is not None:
                self._condition(rule.when, f"{path}/when", self.top_level, self.top_level)
            if isinstance(rule, PerUnitFee):
                self._unit_quantity(rule, path)
            elif isinstance(rule, PerOptionFee):
                self._option_prices(rule, path)
        for index, rule in enumerate(self.definition.fee_rules):
            if isinstance(rule, Exemption):
                self._exemption_targets(rule, rules, f"/fee_rules/{index}")

    def _unknown_field(self, path: str, name: str) -> None:
        self.report(
            path,
            "unknown_reference",
            f"「{name}」という項目はありません",
            f"There is no field '{name}'",
        )

    def _wrong_field_type(self, path: str, message_ja: str, message_en: str) -> None:
        self.report(path, "field_type", message_ja, message_en)

    def _unit_quantity(self, rule: PerUnitFee, path: str) -> None:
        field = field_at(self.definition, rule.quantity_field)
        quantity_path = f"{path}/quantity_field"
        if field is None:
            self._unknown_field(quantity_path, rule.quantity_field)
        elif field.quantity == "answer":
            self._quantity_minimum(field, rule.quantity_field, quantity_path)
        elif field.quantity != "item_count":
            self._wrong_field_type(
                quantity_path,
                "数量には integer の項目、グループ（件数）、"
                "グループ内の integer の項目のいずれかを指定してください",
                "The quantity must be an integer field, a group (its item count) "
                "or an integer field inside a group",
            )

    def _quantity_minimum(self, field: AnyField, name: str, path: str) -> None:
        """A negative quantity would make a negative charge."""
        if not field.never_negative:
            self.report(
                path,
                "quantity_minimum",
                f"数量に使う項目「{name}」には 0 以上の minimum を指定してください",
                f"The quantity field '{name}' needs a minimum of 0 or more",
            )

    def _option_prices(self, rule: PerOptionFee, path: str) -> None:
        field = field_at(self.definition, rule.option_field)
        options = None if field is None else field.single_choice_options()
        if field is None:
            self._unknown_field(f"{path}/option_field", rule.option_field)
        elif options is None:
            self._wrong_field_type(
                f"{path}/option_field",
                "選択肢ごとの料金には select / radio の項目を指定してください",
                "A price per option needs a select or radio field",
            )
        else:
            values = {option.value for option in options}
            for option_value in rule.prices:
                if option_value not in values:
                    self.report(
                        pointer(f"{path}/prices", option_value),
                        "unknown_option",
                        f"「{option_value}」は{rule.option_field}の選択肢にありません",
                        f"'{option_value}' is not an option of '{rule.option_field}'",
                    )
        if rule.quantity_field is None:
            return
        group_key, _, inner_key = rule.option_field.partition(".")
        # Inside a group the quantity is a field of the same item.
        name = f"{group_key}.{rule.quantity_field}" if inner_key else rule.quantity_field
        quantity = field_at(self.definition, name)
        quantity_path = f"{path}/quantity_field"
        if quantity is None:
            self._unknown_field(quantity_path, name)
        elif quantity.quantity == "answer":
            self._quantity_minimum(quantity, name, quantity_path)
        else:
            self._wrong_field_type(
                quantity_path,
                "数量には integer の項目を指定してください",
                "The quantity must be an integer field",
            )

    def _exemption_targets(self, rule: Exemption, rules: Mapping[str, FeeRule], path: str) -> None:
        for index, key in enumerate(rule.applies_to):
            target = rules.get(key)
            if target is None:
                self.report(
                    f"{path}/applies_to/{index}",
                    "unknown_reference",
                    f"「{key}」という料金ルールはありません",
                    f"There is no fee rule '{key}'",
                )
            elif isinstance(target, Exemption):
                self.report(
                    f"{path}/applies_to/{index}",
                    "field_type",
                    "減免の対象に別の減免は指定できません",
                    "An exemption cannot apply to another exemption",
                )
