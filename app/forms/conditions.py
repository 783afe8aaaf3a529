"""Conditions (表示条件): evaluating `when` over answers, and walking their comparisons.

A comparison on field A holds only when A is itself visible and answered, so a hidden
answer never drives another condition; `not_equals` is the negation of `equals`
(true when A is hidden or unanswered).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from app.forms.language import AllOf, AnyOf, Comparison, Condition, Not

if TYPE_CHECKING:
    from app.forms.definition import FieldDefinition, ProcedureDefinition


def holds(
    condition: Condition | None, answers: Mapping[str, Any], visible: Mapping[str, bool]
) -> bool:
    """Whether `condition` holds; `visible` tells which referenced fields are shown."""
    if condition is None:
        return True
    if isinstance(condition, AllOf):
        return all(holds(part, answers, visible) for part in condition.all)
    if isinstance(condition, AnyOf):
        return any(holds(part, answers, visible) for part in condition.any)
    if isinstance(condition, Not):
        return not holds(condition.not_, answers, visible)
    if condition.operator == "not_equals":
        return not _compares(condition.field, "equals", condition.operand, answers, visible)
    return _compares(condition.field, condition.operator, condition.operand, answers, visible)


def top_level_visibility(
    definition: ProcedureDefinition, answers: Mapping[str, Any]
) -> dict[str, bool]:
    """Which top-level fields are shown: their step's `when` and their own `when` hold.
    Conditions only look at earlier fields, so one pass in document order suffices."""
    visible: dict[str, bool] = {}
    for step in definition.steps:
        step_shown = holds(step.when, answers, visible)
        for field in step.fields:
            visible[field.key] = step_shown and holds(field.when, answers, visible)
    return visible


def card_filled_fields(
    definition: ProcedureDefinition, answers: Mapping[str, Any]
) -> list[tuple[FieldDefinition, str]]:
    """The top-level fields the card's facts fill for these answers (ワンスオンリー),
    each with its fact: those with a `prefill` whose `prefill_when` holds."""
    visible = top_level_visibility(definition, answers)
    filled = []
    for step in definition.steps:
        for field in step.fields:
            fact = getattr(field, "prefill", None)
            if fact is not None and holds(field.prefill_when, answers, visible):
                filled.append((field, fact))
    return filled


def comparisons(condition: Condition, path: str) -> Iterator[tuple[Comparison, str]]:
    """Every comparison in a condition, with its JSON Pointer (`path` is the condition's)."""
    if isinstance(condition, AllOf):
        for index, part in enumerate(condition.all):
            yield from comparisons(part, f"{path}/all/{index}")
    elif isinstance(condition, AnyOf):
        for index, part in enumerate(condition.any):
            yield from comparisons(part, f"{path}/any/{index}")
    elif isinstance(condition, Not):
        yield from comparisons(condition.not_, f"{path}/not")
    else:
        yield condition, path


def same_value(answer: Any, operand: Any) -> bool:
    """JSON equality: `true` is not `1` (Python would say it is)."""
    return isinstance(answer, bool) == isinstance(operand, bool) and bool(answer == operand)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compares(
    key: str,
    operator: str,
    operand: Any,
    answers: Mapping[str, Any],
    visible: Mapping[str, bool],
) -> bool:
    if not visible.get(key, False) or key not in answers:
        return False
    answer = answers[key]
    if operator == "equals":
        return same_value(answer, operand)
    if operator == "in_":
        return any(same_value(answer, choice) for choice in operand)
    if operator == "contains":
        return isinstance(answer, list) and any(same_value(item, operand) for item in answer)
    if not is_number(answer):
        return False
    if operator == "greater_than":
        return bool(answer > operand)
    if operator == "greater_or_equal":
        return bool(answer >= operand)
    if operator == "less_than":
        return bool(answer < operand)
    return bool(answer <= operand)
