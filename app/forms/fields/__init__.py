"""The field types of the definition language, one class per type, found by name.

Importing this package registers every type (in the order of docs/forms.md) and builds
the two unions pydantic parses fields with: `FormField` (any registered type) and
`ItemField` (the types allowed inside a repeating group). A new type is a new module
here with `@register_field_type`, imported below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from app.forms.fields.base import (
    FieldDefinition,
    register_field_type,
    registered_field_types,
)

# isort: off
# Registration order is the order of docs/forms.md (and of FIELD_TYPES).
from app.forms.fields.text import TextareaField, TextField
from app.forms.fields.numbers import IntegerField, NumberField
from app.forms.fields.date import DateField
from app.forms.fields.choices import MultiselectField, RadioField, SelectField
from app.forms.fields.yes_no import CheckboxField, ConsentField
from app.forms.fields.contact import EmailField, PhoneJpField, PostalCodeJpField
from app.forms.fields.person import AddressJpField, NameWithKanaField
from app.forms.fields.my_number import MyNumberField
from app.forms.fields.file import FileField
from app.forms.fields.group import GroupField
# isort: on

__all__ = [
    "FIELD_TYPES",
    "AddressJpField",
    "CheckboxField",
    "ConsentField",
    "DateField",
    "EmailField",
    "FieldDefinition",
    "FileField",
    "FormField",
    "GroupField",
    "IntegerField",
    "ItemField",
    "MultiselectField",
    "MyNumberField",
    "NameWithKanaField",
    "NumberField",
    "PhoneJpField",
    "PostalCodeJpField",
    "RadioField",
    "SelectField",
    "TextField",
    "TextareaField",
    "field_type",
    "register_field_type",
]

_REGISTERED = registered_field_types()
FIELD_TYPES = tuple(_REGISTERED)
"""Every field type name, in registration order."""


def field_type(name: str) -> type[FieldDefinition]:
    """The class registered under `name` (KeyError for an unknown type)."""
    return _REGISTERED[name]


if TYPE_CHECKING:
    FormField = FieldDefinition
    ItemField = FieldDefinition
else:
    ItemField = Annotated[
        Union[tuple(cls for cls in _REGISTERED.values() if cls.allowed_in_group)],  # noqa: UP007
        Field(discriminator="type"),
    ]
    """A field allowed inside a repeating group: anything but another group."""
    FormField = Annotated[
        Union[tuple(_REGISTERED.values())],  # noqa: UP007
        Field(discriminator="type"),
    ]
    """Any registered field type, chosen by its `type`."""

GroupField.model_rebuild()
