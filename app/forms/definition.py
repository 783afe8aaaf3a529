"""The form-definition language: what a municipality authors for each procedure (手続).

A definition is plain data (YAML or JSON) parsed into these pydantic models. Parsing
checks the shape of each node; `app.forms.compiler.check_definition` then checks the
rules that span nodes (unique keys, conditions on earlier fields, fee rules on numeric
fields, my_number only under `my_number_use`) and reports each problem with its path.

Answers have one canonical JSON form per field type (see docs/forms.md):
text-like fields are strings, integer/number are JSON numbers, date is "YYYY-MM-DD",
checkbox/consent are booleans, multiselect is a list of option values, address_jp and
name_with_kana are objects, a repeating group is a list of objects.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
PROCEDURE_CODE_PATTERN = r"^[a-z][a-z0-9_-]{1,63}$"

# Caps on what a citizen may send, applied even when an author sets nothing.
DEFAULT_TEXT_MAX_LENGTH = 200
DEFAULT_TEXTAREA_MAX_LENGTH = 4000
HARD_TEXT_MAX_LENGTH = 20000
DEFAULT_GROUP_MAX_ITEMS = 20
HARD_GROUP_MAX_ITEMS = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(_Strict):
    """A user-facing text in Japanese, with its English counterpart."""

    ja: str = Field(min_length=1)
    en: str | None = None


# --- Conditions --------------------------------------------------------------------------
# A condition is evaluated over the answers of fields defined *earlier* in the form
# (for a field inside a repeating group: earlier fields of the same group item). That
# keeps conditions acyclic and lets the compiler express them as JSON Schema if/then.

Scalar = str | int | float | bool


class Comparison(_Strict):
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

    @property
    def operator(self) -> str:
        return next(name for name in OPERATORS if getattr(self, name) is not None)

    @property
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


class AllOf(_Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)


class Not(_Strict):
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


# --- Fields ------------------------------------------------------------------------------


class Option(_Strict):
    value: str = Field(min_length=1, max_length=100)
    label: Localized


class _FieldBase(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    label: Localized
    help: Localized | None = None
    required: bool = False
    when: Condition | None = None
    """Shown, and required if `required`, only when this condition holds."""


class TextField(_FieldBase):
    type: Literal["text"]
    min_length: int | None = Field(default=None, ge=0)
    max_length: int = Field(default=DEFAULT_TEXT_MAX_LENGTH, ge=1, le=HARD_TEXT_MAX_LENGTH)
    pattern: str | None = None
    prefill: Literal["name", "address"] | None = None
    """ワンスオンリー: filled from the My Number card's 氏名 or 住所 (see docs/jpki.md)."""

    # Field validators (not model validators) so an error points at the key itself.
    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        return pattern


class TextareaField(_FieldBase):
    type: Literal["textarea"]
    min_length: int | None = Field(default=None, ge=0)
    max_length: int = Field(default=DEFAULT_TEXTAREA_MAX_LENGTH, ge=1, le=HARD_TEXT_MAX_LENGTH)
    prefill: Literal["address"] | None = None


class IntegerField(_FieldBase):
    type: Literal["integer"]
    minimum: int | None = None
    maximum: int | None = None


class NumberField(_FieldBase):
    type: Literal["number"]
    minimum: float | None = None
    maximum: float | None = None


class DateField(_FieldBase):
    type: Literal["date"]
    minimum: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    maximum: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    prefill: Literal["birth_date"] | None = None


def _sex_options(cls: type, prefill: str | None, info: ValidationInfo) -> str | None:
    values = {option.value for option in info.data.get("options", [])}
    if prefill == "sex" and not {"male", "female"} <= values:
        raise ValueError("prefill: sex needs options 'male' and 'female' (and 'unknown')")
    return prefill


class SelectField(_FieldBase):
    type: Literal["select"]
    options: list[Option] = Field(min_length=1)
    prefill: Literal["sex"] | None = None
    _prefill_sex = field_validator("prefill")(_sex_options)


class RadioField(_FieldBase):
    type: Literal["radio"]
    options: list[Option] = Field(min_length=1)
    prefill: Literal["sex"] | None = None
    _prefill_sex = field_validator("prefill")(_sex_options)


class CheckboxField(_FieldBase):
    """A yes/no question answered with a boolean (unlike consent, `false` is an answer)."""

    type: Literal["checkbox"]


class MultiselectField(_FieldBase):
    type: Literal["multiselect"]
    options: list[Option] = Field(min_length=1)
    min_items: int | None = Field(default=None, ge=0)
    max_items: int | None = Field(default=None, ge=1)


class EmailField(_FieldBase):
    type: Literal["email"]


class PhoneJpField(_FieldBase):
    """A Japanese telephone number: 10 or 11 digits starting with 0, hyphens allowed."""

    type: Literal["phone_jp"]


class PostalCodeJpField(_FieldBase):
    """郵便番号: 7 digits; "389-0402" is accepted and stored as "3890402"."""

    type: Literal["postal_code_jp"]


class AddressJpField(_FieldBase):
    """住所: 都道府県, 市区町村, 町域, and the rest (番地・建物名)."""

    type: Literal["address_jp"]


class NameWithKanaField(_FieldBase):
    """氏名 and フリガナ; the フリガナ is katakana only (hiragana is converted)."""

    type: Literal["name_with_kana"]
    prefill: Literal["name"] | None = None
    """Fills the 氏名 part; the card has no フリガナ, so the citizen adds it."""


class ConsentField(_FieldBase):
    """同意: a statement the applicant must accept; only `true` answers it."""

    type: Literal["consent"]


class MyNumberField(_FieldBase):
    """個人番号 (12 digits with its check digit). Only under `my_number_use`."""

    type: Literal["my_number"]


class GroupField(_FieldBase):
    """A repeating group, e.g. the children (児童) of a 児童手当 claim."""

    type: Literal["group"]
    fields: list[ItemField] = Field(min_length=1)
    min_items: int = Field(default=0, ge=0)
    max_items: int = Field(default=DEFAULT_GROUP_MAX_ITEMS, ge=1, le=HARD_GROUP_MAX_ITEMS)
    item_label: Localized | None = None


ItemField = Annotated[
    TextField
    | TextareaField
    | IntegerField
    | NumberField
    | DateField
    | SelectField
    | RadioField
    | CheckboxField
    | MultiselectField
    | EmailField
    | PhoneJpField
    | PostalCodeJpField
    | AddressJpField
    | NameWithKanaField
    | ConsentField
    | MyNumberField,
    Field(discriminator="type"),
]
"""A field allowed inside a repeating group: anything but another group."""

FormField = Annotated[
    TextField
    | TextareaField
    | IntegerField
    | NumberField
    | DateField
    | SelectField
    | RadioField
    | CheckboxField
    | MultiselectField
    | EmailField
    | PhoneJpField
    | PostalCodeJpField
    | AddressJpField
    | NameWithKanaField
    | ConsentField
    | MyNumberField
    | GroupField,
    Field(discriminator="type"),
]

FIELD_TYPES = (
    "text",
    "textarea",
    "integer",
    "number",
    "date",
    "select",
    "radio",
    "checkbox",
    "multiselect",
    "email",
    "phone_jp",
    "postal_code_jp",
    "address_jp",
    "name_with_kana",
    "consent",
    "my_number",
    "group",
)


class Step(_Strict):
    """One page of the form."""

    key: str = Field(pattern=KEY_PATTERN)
    title: Localized
    description: Localized | None = None
    when: Condition | None = None
    fields: list[FormField] = Field(min_length=1)


# --- Fees --------------------------------------------------------------------------------
# Every amount is integer yen. The server computes the fee; a client never sends one.


class _FeeRuleBase(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    label: Localized
    when: Condition | None = None
    """The line item applies only when this condition holds."""


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

    @field_validator("my_number_legal_basis")
    @classmethod
    def _my_number_use_has_basis(cls, basis: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("my_number_use") and not basis:
            raise ValueError("my_number_use requires my_number_legal_basis (番号法の根拠)")
        return basis


for _model in (AllOf, AnyOf, Not, GroupField, Step, ProcedureDefinition):
    _model.model_rebuild()
