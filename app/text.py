"""What counts as text a person can see (見える文字): required free text (a reject
reason, a My Number reveal reason, a comment) and names shown to staff.

A zero-width space (U+200B), a Hangul filler (U+3164) or a bidi override (U+202E) is a
character to Python but nothing, or a lie, to the reader: a reason made only of them
says nothing, and a name with an override displays reversed in a staff list.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180b\u180c\u180d\u180e")
"""Letters and marks that render as nothing: Hangul (half-width) fillers, the braille
blank, Khmer inherent vowels and Mongolian free variation selectors."""

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Embeddings, overrides, isolates and marks (Unicode TR 9): they reorder what follows."""


def is_invisible(char: str) -> bool:
    """A format character (category Cf: zero-width, bidi, soft hyphen, BOM ...), a filler
    or white space."""
    return char in FILLERS or char.isspace() or unicodedata.category(char) == "Cf"


def without_invisible(text: str) -> str:
    """`text` without its format characters (Cf: zero-width, bidi controls, soft hyphen,
    BOM ...) and fillers, wherever they are; white space is left as it is. Variation
    selectors (異体字 IVS) are marks, not format characters: kept."""
    if text.isascii():  # no ASCII character is a format character or a filler
        return text
    if text.isprintable() and FILLERS.isdisjoint(text):  # Cf is never printable
        return text
    return _invisible_characters().sub("", text)


@cache
def _invisible_characters() -> re.Pattern[str]:
    """One character class of every format character (Cf) of this Python's Unicode
    database and the fillers: removing them is one C loop, not a Python one per
    character. Built on first use from the planes that have format characters (0, 1 and
    14; the others hold ideographs, private use or nothing)."""
    planes = (range(0, 0x20000), range(0xE0000, 0xF0000))
    found = {chr(c) for plane in planes for c in plane if unicodedata.category(chr(c)) == "Cf"}
    return re.compile("[" + "".join(re.escape(char) for char in sorted(found | FILLERS)) + "]")


def is_blank(text: str) -> bool:
    """Nothing visible: empty, white space, format characters and fillers only."""
    return all(is_invisible(char) for char in text)


def _required(text: str) -> str:
    if is_blank(text):
        raise PydanticCustomError(
            "text_blank",
            "Write something visible: spaces, zero-width and filler characters do not count",
        )
    return text.strip()


def _name(text: str) -> str:
    if any(char in BIDI_CONTROLS for char in text):
        raise PydanticCustomError(
            "text_bidi_control",
            "A name may not hold bidirectional control characters (U+202A-202E, U+2066-2069)",
        )
    return _required(text)


RequiredText = Annotated[str, AfterValidator(_required)]
"""Free text that must say something (理由, コメント): refused (422 `text_blank`) when
nothing visible is left; otherwise kept as written, stripped at both ends."""

Name = Annotated[str, AfterValidator(_name)]
"""A name shown to others (表示名, 所属課): refused with a bidi control character
(422 `text_bidi_control`) or when nothing visible is left."""
