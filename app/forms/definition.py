"""The form-definition language: what a municipality authors for each procedure (手続).

A definition is plain data (YAML or JSON) parsed into these pydantic models. Parsing
checks the shape of each node; `app.forms.compiler.check_definition` then checks the
rules that span nodes (unique keys, conditions on earlier fields, fee rules on numeric
fields, my_number only under `my_number_use`) and reports each problem with its path.

Answers have one canonical JSON form per field type (see docs/forms.md):
text-like fields are strings, integer/number are JSON numbers, date is "YYYY-MM-DD",
checkbox/consent are booleans, multiselect is a list of option values, address_jp and
name_with_kana are objects, a repeating group is a list of objects.

The shared nodes (Localized, Option, conditions) are in `app.forms.language`, each field
type in `app.forms.fields`; this module puts them together and re-exports them.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from app.forms.conditions import ConditionTest, compile_condition
from app.forms.fields import (
    FIELD_TYPES,
    AddressJpField,
    CheckboxField,
    ConsentField,
    DateField,
    EmailField,
    FieldDefinition,
    FileField,
    FormField,
    GroupField,
    IntegerField,
    ItemField,
    MultiselectField,
    MyNumberField,
    NameWithKanaField,
    NumberField,
    PhoneJpField,
    PostalCodeJpField,
    RadioField,
    SelectField,
    TextareaField,
    TextField,
)
from app.forms.fields.group import DEFAULT_GROUP_MAX_ITEMS, HARD_GROUP_MAX_ITEMS
from app.forms.fields.text import (
    DEFAULT_TEXT_MAX_LENGTH,
    DEFAULT_TEXTAREA_MAX_LENGTH,
    HARD_TEXT_MAX_LENGTH,
)
from app.forms.language import (
    KEY_PATTERN,
    NUMERIC_OPERATORS,
    OPERATORS,
    PROCEDURE_CODE_PATTERN,
    AllOf,
    AnyOf,
    Comparison,
    Condition,
    Localized,
    Not,
    Option,
    Scalar,
)
from app.forms.language import Strict as _Strict

__all__ = [
    "DEFAULT_GROUP_MAX_ITEMS",
    "DEFAULT_TEXTAREA_MAX_LENGTH",
    "DEFAULT_TEXT_MAX_LENGTH",
    "FIELD_TYPES",
    "HARD_GROUP_MAX_ITEMS",
    "HARD_TEXT_MAX_LENGTH",
    "KEY_PATTERN",
    "NUMERIC_OPERATORS",
    "OPERATORS",
    "PROCEDURE_CODE_PATTERN",
    "AddressJpField",
    "AllOf",
    "AnyOf",
    "CheckboxField",
    "Comparison",
    "Condition",
    "ConsentField",
    "DateField",
    "EmailField",
    "Exemption",
    "FeeRule",
    "FieldDefinition",
    "FileField",
    "FixedFee",
    "FormField",
    "GroupField",
    "IntegerField",
    "ItemField",
    "Localized",
    "MultiselectField",
    "MyNumberField",
    "NameWithKanaField",
    "Not",
    "NumberField",
    "Option",
    "PerOptionFee",
    "PerUnitFee",
    "PhoneJpField",
    "PostalCodeJpField",
    "ProcedureDefinition",
    "RadioField",
    "Scalar",
    "SelectField",
    "Step",
    "TextField",
    "TextareaField",
]


class Step(_Strict):
    """One page of the form."""

    key: str = Field(pattern=KEY_PATTERN)
    title: Localized
    description: Localized | None = None
    when: Condition | None = None
    fields: list[FormField] = Field(min_length=1)

    @cached_property
    def when_holds(self) -> ConditionTest:
        """`when`, compiled once: whether the step is shown."""
        return compile_condition(self.when)


# --- Fees --------------------------------------------------------------------------------
# Every amount is integer yen. The server computes the fee; a client never sends one.


class _FeeRuleBase(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    label: Localized
    when: Condition | None = None
    """The line item applies only when this condition holds."""

    @cached_property
    def when_holds(self) -> ConditionTest:
        """`when`, compiled once: whether the rule applies."""
        return compile_condition(self.when)


class FixedFee(_FeeRuleBase):
    """A fixed amount, e.g. 犬の登録 3,000円."""

    kind: Literal["fixed"]
    amount: int = Field(ge=0)


class PerUnitFee(_FeeRuleBase):
    """unit_price x a quantity, e.g. 住民票の写し 300円/通.

    `quantity_field` names an integer field, a repeating group (its item count), or
    `group.field` for an integer field inside a group (summed over the items).
    """

    kind: Literal["per_unit"]
    unit_price: int = Field(ge=0)
    quantity_field: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")
    unit: Localized | None = None
    """What one unit is called (通, 個, 頭), shown in the fee summary."""


class PerOptionFee(_FeeRuleBase):
    """A price per chosen option, e.g. 戸籍謄本 450円 / 除籍謄本 750円.

    `option_field` names a select/radio field, at top level or as `group.field`. For a
    group, each item is priced and multiplied by the item's `quantity_field` (an integer
    field of the same item) when given.
    """

    kind: Literal["per_option"]
    option_field: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")
    prices: dict[str, int]
    quantity_field: str | None = Field(default=None, pattern=KEY_PATTERN)
    unit: Localized | None = None

    @field_validator("prices")
    @classmethod
    def _prices_not_negative(cls, prices: dict[str, int]) -> dict[str, int]:
        negative = [value for value, price in prices.items() if price < 0]
        if negative:
            raise ValueError(f"prices must not be negative: {negative}")
        if not prices:
            raise ValueError("prices must name at least one option")
        return prices


class Exemption(_FeeRuleBase):
    """減免: when the condition holds the listed line items (all when empty) are waived,
    e.g. 生活保護受給者 -> 0 yen. Shown as a negative line item in the breakdown."""

    kind: Literal["exemption"]
    when: Condition  # required here, optional on other rules
    applies_to: list[str] = Field(default_factory=list)


FeeRule = Annotated[FixedFee | PerUnitFee | PerOptionFee | Exemption, Field(discriminator="kind")]


# --- The procedure ------------------------------------------------------------------------


class ProcedureDefinition(_Strict):
    """A procedure (手続) as a municipality publishes it: metadata, steps, fee rules."""

    code: str = Field(pattern=PROCEDURE_CODE_PATTERN)
    title: Localized
    description: Localized | None = None
    department: Localized
    """担当課, e.g. 市民課 / Citizens Division."""
    legal_basis: str | None = None
    """根拠法令, e.g. 住民基本台帳法第12条."""
    identity_requirement: Literal["none", "jpki_auth", "jpki_sign"] = "none"
    payment_timing: Literal["on_submit", "after_review"] = "on_submit"
    my_number_use: bool = False
    """番号利用事務: the procedure legally collects the 個人番号."""
    my_number_legal_basis: str | None = Field(default=None, validate_default=True)
    fee_rules: list[FeeRule] = Field(default_factory=list)
    steps: list[Step] = Field(min_length=1)
    retention_days: int | None = Field(default=None, ge=1, le=36500)
    """保存期間 in days after the decision; unset: the RETENTION_DEFAULT_DAYS setting."""

    @cached_property
    def fields_by_key(self) -> dict[str, FieldDefinition]:
        """The top-level fields by key, found once per (immutable) definition."""
        return {field.key: field for step in self.steps for field in step.fields}

    @field_validator("my_number_legal_basis")
    @classmethod
    def _my_number_use_has_basis(cls, basis: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("my_number_use") and not basis:
            raise ValueError("my_number_use requires my_number_legal_basis (番号法の根拠)")
        return basis


for _model in (Step, ProcedureDefinition):
    _model.model_rebuild()
