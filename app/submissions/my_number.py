"""個人番号 (My Number) answers: encrypted at rest, masked for staff, revealed on purpose.

Only the values of `my_number` fields are encrypted (AES-256-GCM, a fresh 96-bit nonce
per value, the key from settings), inside the stored answers, so everything else about
an application stays queryable. The submissions service seals answers before it stores
them and opens them where the applicant needs the values back (checking at submit, the
applicant's own view). Staff views show `********1234`; the full value only comes out
of `reveal`, which the caller audits.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import Settings
from app.errors import NotFound
from app.forms.answers import answer_slots
from app.forms.definition import ProcedureDefinition
from app.keys import decode_key

SEALED_PREFIX = "mn1:"
"""Marks an encrypted value (format version 1): mn1:<urlsafe base64 of nonce||ciphertext>."""
_ASSOCIATED_DATA = b"madoguchi/my_number/v1"
_NONCE_BYTES = 12
MASK = "********"


class MyNumberFieldNotFound(NotFound, code="MY_NUMBER_FIELD_NOT_FOUND"): ...


class MyNumberCipher:
    """AES-256-GCM over single values. A value that does not decrypt (wrong key, edited
    row) raises instead of showing anything."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("MY_NUMBER_ENCRYPTION_KEY must be 32 bytes (URL-safe base64)")
        self._aead = AESGCM(key)

    def seal(self, value: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = self._aead.encrypt(nonce, value.encode(), _ASSOCIATED_DATA)
        return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + ciphertext).decode()

    def open(self, sealed: str) -> str:
        if not sealed.startswith(SEALED_PREFIX):
            raise ValueError("not an encrypted My Number")
        try:
            raw = base64.urlsafe_b64decode(sealed.removeprefix(SEALED_PREFIX))
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _ASSOCIATED_DATA)
        except (binascii.Error, InvalidTag) as exc:
            raise ValueError("an encrypted My Number does not decrypt with this key") from exc
        return plain.decode()


def cipher_for(settings: Settings) -> MyNumberCipher:
    return _cipher(settings.my_number_encryption_key.get_secret_value())


@lru_cache(maxsize=4)
def _cipher(encoded_key: str) -> MyNumberCipher:
    return MyNumberCipher(decode_key("MY_NUMBER_ENCRYPTION_KEY", encoded_key))


def mask(value: str) -> str:
    """`********1234`: the last four digits, enough to match a card in front of you."""
    return MASK + value[-4:]


def seal_answers(
    definition: ProcedureDefinition, answers: Mapping[str, Any], cipher: MyNumberCipher
) -> dict[str, Any]:
    """A copy of canonical answers with every My Number encrypted (already encrypted
    ones are kept as they are)."""
    return _map(definition, answers, lambda v: v if _is_sealed(v) else cipher.seal(v))


def open_answers(
    definition: ProcedureDefinition, answers: Mapping[str, Any], cipher: MyNumberCipher
) -> dict[str, Any]:
    """A copy of stored answers with every My Number decrypted, for the applicant."""
    return _map(definition, answers, lambda v: cipher.open(v) if _is_sealed(v) else v)


def masked_answers(
    definition: ProcedureDefinition, answers: Mapping[str, Any], cipher: MyNumberCipher
) -> dict[str, Any]:
    """A copy of stored answers for staff: every My Number as `********1234`."""
    return _map(definition, answers, lambda v: mask(cipher.open(v) if _is_sealed(v) else v))


def my_number_pointers(definition: ProcedureDefinition, answers: Mapping[str, Any]) -> list[str]:
    """JSON Pointers of the My Numbers present in these answers, e.g. `/children/0/my_number`."""
    return [path for path, _ in _locations(definition, answers)]


def reveal(
    definition: ProcedureDefinition,
    answers: Mapping[str, Any],
    field_pointer: str,
    cipher: MyNumberCipher,
) -> str:
    """The plain My Number at `field_pointer`. The caller writes the audit entry."""
    for path, value in _locations(definition, answers):
        if path == field_pointer:
            return cipher.open(value) if _is_sealed(value) else value
    raise MyNumberFieldNotFound(
        f"No My Number is stored at '{field_pointer[:100]}'.",
        f"「{field_pointer[:100]}」に個人番号は保存されていません。",
    )


def _is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def _locations(
    definition: ProcedureDefinition, answers: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    """(JSON Pointer, stored value) of every My Number answer given."""
    for path, container, key in _slots(definition, answers):
        yield path, container[key]


def _map(
    definition: ProcedureDefinition,
    answers: Mapping[str, Any],
    convert: Callable[[str], str],
) -> dict[str, Any]:
    result = _copied(answers)
    for _, container, key in list(_slots(definition, result)):
        container[key] = convert(container[key])
    return result


def _copied(answers: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of JSON answers (dicts, lists and scalars), in a fraction of the time
    `copy.deepcopy` takes to do the same."""
    return {key: _copied_value(value) for key, value in answers.items()}


def _copied_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copied_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied_value(item) for item in value]
    return value


def _slots(
    definition: ProcedureDefinition, answers: Mapping[str, Any]
) -> Iterator[tuple[str, Any, str]]:
    """(JSON Pointer, the dict holding it, its key) of every My Number answer given: a
    top-level `my_number` field, or one inside each item of a repeating group."""
    for slot in answer_slots(definition, answers, lambda field: field.is_my_number):
        if isinstance(slot.value, str):
            yield slot.pointer, slot.container, slot.key
