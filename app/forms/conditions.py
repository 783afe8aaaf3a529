"""Conditions (表示条件): evaluating `when` over answers, and walking their comparisons.

A comparison on field A holds only when A is itself visible and answered, so a hidden
answer never drives another condition; `not_equals` is the negation of `equals`
(true when A is hidden or unanswered).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from app.forms.language import AllOf, AnyOf, Comparison, Condition, Not

if TYPE_CHECKING:
    from app.forms.definition import FieldDefinition, ProcedureDefinition


ConditionTest = Callable[[Mapping[str, Any], Mapping[str, bool]], bool]
"""A compiled condition: (answers, visible) -> whether it holds."""


def holds(
    condition: Condition | None, answers: Mapping[str, Any], visible: Mapping[str, bool]
) -> bool:
    """Whether `condition` holds; `visible` tells which referenced fields are shown."""
    return compile_condition(condition)(answers, visible)


def compile_condition(condition: Condition | None) -> ConditionTest:
    """`condition` as one function, so that evaluating it per request is a few calls
    instead of a walk over its tree. A definition's conditions are compiled once
    (its nodes' `when_holds`); `holds` compiles on the spot."""
    if condition is None:
        return _always
    if isinstance(condition, AllOf):
        return _every(tuple(compile_condition(part) for part in condition.all))
    if isinstance(condition, AnyOf):
        return _some(tuple(compile_condition(part) for part in condition.any))
    if isinstance(condition, Not):
        return _negated(compile_condition(condition.not_))
    if condition.operator == "not_equals":
        return _negated(_comparison(condition.field, _matcher("equals", condition.operand)))
    return _comparison(condition.field, _matcher(condition.operator, condition.operand))


def _always(answers: Mapping[str, Any], visible: Mapping[str, bool]) -> bool:
    return True


def _every(parts: tuple[ConditionTest, ...]) -> ConditionTest:
    def every(answers: Mapping[str, Any], visible: Mapping[str, bool]) -> bool:
        return all(part(answers, visible) for part in parts)

    return every


def _some(parts: tuple[ConditionTest, ...]) -> ConditionTest:
    def some(answers: Mapping[str, Any], visible: Mapping[str, bool]) -> bool:
        return any(part(answers, visible) for part in parts)

    return some


def _negated(test: ConditionTest) -> ConditionTest:
    return lambda answers, visible: not test(answers, visible)


def _comparison(key: str, matches: Callable[[Any], bool]) -> ConditionTest:
    """A comparison on `key` holds only when that field is shown and answered."""

    def compares(answers: Mapping[str, Any], visible: Mapping[str, bool]) -> bool:
        if not visible.get(key, False) or key not in answers:
            return False
        return matches(answers[key])

    return compares


_NUMERIC_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "greater_than": operator.gt,
    "greater_or_equal": operator.ge,
    "less_than": operator.lt,
    "less_or_equal": operator.le,
}


def _matcher(operator_name: str, operand: Any) -> Callable[[Any], bool]:
    """Whether an answer satisfies `operator_name` with `operand` (see `same_value`)."""
    if operator_name == "equals":
        operand_is_bool = isinstance(operand, bool)
        return lambda answer: (
            isinstance(answer, bool) == operand_is_bool and bool(answer == operand)
        )
    if operator_name == "in_":
        if all(isinstance(choice, str) for choice in operand):
            # Only a string equals a string (JSON answers hold no other str-like type).
            choices = frozenset(operand)
            return lambda answer: isinstance(answer, str) and answer in choices
        return lambda answer: any(same_value(answer, choice) for choice in operand)
    if operator_name == "contains":
        return lambda answer: (
            isinstance(answer, list) and any(same_value(item, operand) for item in answer)
        )
    compare = _NUMERIC_COMPARISONS[operator_name]
    return lambda answer: is_number(answer) and bool(compare(answer, operand))


def top_level_visibility(
    definition: ProcedureDefinition, answers: Mapping[str, Any]
) -> dict[str, bool]:
    """Which top-level fields are shown: their step's `when` and their own `when` hold.
    Conditions only look at earlier fields, so one pass in document order suffices."""
    visible: dict[str, bool] = {}
    for step in definition.steps:
        step_shown = step.when_holds(answers, visible)
        for field in step.fields:
            visible[field.key] = step_shown and field.when_holds(answers, visible)
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
