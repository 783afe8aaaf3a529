"""Fees (手数料): the amount due for a set of answers, and the one-line fee summary.

Integer yen throughout. Each rule's `when` gates it; a line with quantity 0 is left
out; an exemption (減免) that applies adds a negative line cancelling what is still
due on the rules it names (all rules when it names none), so the total is never
negative and no amount is waived twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.forms.conditions import top_level_visibility
from app.forms.definition import (
    Exemption,
    FieldDefinition,
    FixedFee,
    Localized,
    Option,
    PerOptionFee,
    PerUnitFee,
    ProcedureDefinition,
)

CURRENCY = "JPY"


@dataclass(frozen=True)
class FeeLineItem:
    """One line of the fee breakdown; `amount` is negative for an exemption."""

    key: str
    label: Localized
    unit_price: int | None
    quantity: int | None
    amount: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": {"ja": self.label.ja, "en": self.label.en},
            "unit_price": self.unit_price,
            "quantity": self.quantity,
            "amount": self.amount,
        }


@dataclass(frozen=True)
class FeeBreakdown:
    """The fee due, with its line items in fee-rule order."""

    total: int
    items: list[FeeLineItem]

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "currency": CURRENCY,
            "items": [item.as_dict() for item in self.items],
        }


def field_at(definition: ProcedureDefinition, dotted: str) -> FieldDefinition | None:
    """The field a fee rule names: `key` at top level, or `group.key` inside a group."""
    top_key, _, inner_key = dotted.partition(".")
    top = next(
        (field for step in definition.steps for field in step.fields if field.key == top_key),
        None,
    )
    if not inner_key or top is None:
        return top
    return next((field for field in top.item_fields if field.key == inner_key), None)


def calculate_fee(definition: ProcedureDefinition, answers: Mapping[str, Any]) -> FeeBreakdown:
    """The fee for validated (canonical) answers; hidden answers count as not given."""
    if not definition.fee_rules:
        return FeeBreakdown(total=0, items=[])
    visible = top_level_visibility(definition, answers)
    shown = {key: value for key, value in answers.items() if visible.get(key, False)}
    lines: dict[str, list[FeeLineItem]] = {}
    due: dict[str, int] = {}
    for rule in definition.fee_rules:
        if isinstance(rule, Exemption):
            continue
        charged = _charge(definition, rule, shown) if rule.when_holds(shown, visible) else []
        lines[rule.key] = charged
        due[rule.key] = sum(line.amount for line in charged)
    for rule in definition.fee_rules:
        if not isinstance(rule, Exemption) or not rule.when_holds(shown, visible):
            continue
        waived = 0
        for key in rule.applies_to or list(due):
            waived += due.get(key, 0)
            due[key] = 0
        lines[rule.key] = [FeeLineItem(rule.key, rule.label, None, None, -waived)] if waived else []
    items = [line for rule in definition.fee_rules for line in lines.get(rule.key, [])]
    return FeeBreakdown(total=sum(item.amount for item in items), items=items)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _items(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _charge(
    definition: ProcedureDefinition,
    rule: FixedFee | PerUnitFee | PerOptionFee,
    answers: Mapping[str, Any],
) -> list[FeeLineItem]:
    if isinstance(rule, FixedFee):
        return [FeeLineItem(rule.key, rule.label, None, None, rule.amount)]
    if isinstance(rule, PerUnitFee):
        quantity = _unit_quantity(rule.quantity_field, answers)
        if quantity == 0:
            return []
        return [
            FeeLineItem(rule.key, rule.label, rule.unit_price, quantity, rule.unit_price * quantity)
        ]
    return _per_option(definition, rule, answers)


def _unit_quantity(quantity_field: str, answers: Mapping[str, Any]) -> int:
    """An integer answer, a group's item count, or an integer summed over a group."""
    top_key, _, inner_key = quantity_field.partition(".")
    value = answers.get(top_key)
    if inner_key:
        return sum(_count(item.get(inner_key)) for item in _items(value))
    if isinstance(value, list):
        return len(value)
    return _count(value)


def _priced_options(definition: ProcedureDefinition, rule: PerOptionFee) -> list[Option]:
    """The options of the rule's field that have a price, in the field's order."""
    field = field_at(definition, rule.option_field)
    options = None if field is None else field.single_choice_options()
    return [option for option in options or [] if option.value in rule.prices]


def _per_option(
    definition: ProcedureDefinition, rule: PerOptionFee, answers: Mapping[str, Any]
) -> list[FeeLineItem]:
    """One line per chosen priced option, quantities summed over a group's items."""
    top_key, _, inner_key = rule.option_field.partition(".")
    if inner_key:
        choices = [
            (
                item.get(inner_key),
                _count(item.get(rule.quantity_field)) if rule.quantity_field else 1,
            )
            for item in _items(answers.get(top_key))
        ]
    else:
        quantity = _count(answers.get(rule.quantity_field)) if rule.quantity_field else 1
        choices = [(answers.get(top_key), quantity)]
    quantities: Counter[str] = Counter()
    for chosen, quantity in choices:
        if isinstance(chosen, str) and chosen in rule.prices:
            quantities[chosen] += quantity
    lines: list[FeeLineItem] = []
    for option in _priced_options(definition, rule):
        quantity = quantities[option.value]
        if quantity == 0:
            continue
        price = rule.prices[option.value]
        label = Localized(
            ja=f"{rule.label.ja}（{option.label.ja}）",
            en=f"{rule.label.en} ({option.label.en or option.label.ja})" if rule.label.en else None,
        )
        lines.append(
            FeeLineItem(f"{rule.key}.{option.value}", label, price, quantity, price * quantity)
        )
    return lines


# --- the summary shown in the catalog ------------------------------------------------------


def _yen_ja(amount: int) -> str:
    return f"{amount:,}円"


def _yen_en(amount: int) -> str:
    return f"¥{amount:,}"


MAX_OPTIONS_LISTED = 3
"""Above this many priced options the summary shows a price range instead of a list."""


def fee_summary(definition: ProcedureDefinition) -> Localized:
    """A one-line summary, e.g. 1通 300円 / ¥300 per copy; 無料 / Free without fees."""
    charges = [rule for rule in definition.fee_rules if not isinstance(rule, Exemption)]
    if not charges:
        return Localized(ja="無料", en="Free")
    labelled = len(charges) > 1
    parts_ja: list[str] = []
    parts_en: list[str] = []
    for rule in charges:
        text_ja, text_en = _rule_summary(definition, rule)
        if labelled:
            text_ja = f"{rule.label.ja} {text_ja}"
            text_en = f"{rule.label.en or rule.label.ja} {text_en}"
        if rule.when is not None:
            text_ja += "（該当する場合）"
            text_en += " (if applicable)"
        parts_ja.append(text_ja)
        parts_en.append(text_en)
    for exemption in definition.fee_rules:
        if isinstance(exemption, Exemption):
            label = exemption.label
            parts_ja.append(f"減免あり（{label.ja}）")
            parts_en.append(f"exemption available ({label.en or label.ja})")
    return Localized(ja="、".join(parts_ja), en="; ".join(parts_en))


def _per_unit_text(price: int, unit: Localized | None) -> tuple[str, str]:
    if unit is None:
        return f"1件 {_yen_ja(price)}", f"{_yen_en(price)} each"
    return f"1{unit.ja} {_yen_ja(price)}", f"{_yen_en(price)} per {unit.en or unit.ja}"


def _rule_summary(
    definition: ProcedureDefinition, rule: FixedFee | PerUnitFee | PerOptionFee
) -> tuple[str, str]:
    if isinstance(rule, FixedFee):
        return _yen_ja(rule.amount), _yen_en(rule.amount)
    if isinstance(rule, PerUnitFee):
        return _per_unit_text(rule.unit_price, rule.unit)
    options = _priced_options(definition, rule)
    prices = sorted({rule.prices[option.value] for option in options})
    if len(prices) == 1:
        return _per_unit_text(prices[0], rule.unit)
    if len(options) > MAX_OPTIONS_LISTED:
        # A catalog line must stay short: a long price list becomes a range.
        unit_ja = f"1{rule.unit.ja} " if rule.unit else ""
        unit_en = f" per {rule.unit.en or rule.unit.ja}" if rule.unit else ""
        return (
            f"{unit_ja}{_yen_ja(prices[0])}〜{_yen_ja(prices[-1])}",
            f"{_yen_en(prices[0])}–{_yen_en(prices[-1])}{unit_en}",
        )
    texts_ja: list[str] = []
    texts_en: list[str] = []
    for option in options:
        price = rule.prices[option.value]
        if rule.unit is None:
            price_ja, price_en = _yen_ja(price), _yen_en(price)
        else:
            price_ja, price_en = _per_unit_text(price, rule.unit)
        texts_ja.append(f"{option.label.ja} {price_ja}")
        texts_en.append(f"{option.label.en or option.label.ja} {price_en}")
    return "・".join(texts_ja), ", ".join(texts_en)
