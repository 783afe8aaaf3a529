"""Valid answers for any definition, drawn from a seeded random generator.

Used to show that every shipped catalog form accepts realistic answers, that our
validator and a generic JSON Schema validator agree on them, and by the benchmarks.
Text patterns are answered from a table of the patterns the catalog uses; a pattern
missing from the table fails loudly so that a new one gets an example.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.forms.conditions import holds
from app.forms.definition import GroupField, ProcedureDefinition
from app.forms.fields.date import resolve_bound
from app.jp_calendar import local_date

PATTERN_EXAMPLES = {
    "^[0-9]{7}$": "0012345",
    "^[0-9]{4}$": "0001",
    "^[0-9]{3}$": "123",
    "^[0-9]{10}$": "0123456789",
    "^[0-9]{15}$": "392141000123456",
    "^[0-9]{1,10}$": "12345",
    "^[ァ-ヴー　 ]+$": "トウミ ハナコ",
    "^[0-9A-Za-z-]+$": "AB-123",
    "^(09|1[0-9]|2[01]):[0-5][0-9]$": "13:30",
    "^[0-9]{6,12}$": "1234567",
    "^[0-9-]+$": "2026-001",
}

ADDRESSES = [
    {"prefecture": "長野県", "city": "東御市", "town": "県", "rest": "291"},
    {"prefecture": "長野県", "city": "上田市", "town": "大手", "rest": "1-11-16"},
    {"prefecture": "東京都", "city": "千代田区", "town": "霞が関", "rest": "2-1-2 中央合同庁舎"},
]
NAMES = [
    {"name": "東御 花子", "kana": "トウミ ハナコ"},
    {"name": "上田 太郎", "kana": "うえだ たろう"},
    {"name": "ｻﾄｳ 一郎", "kana": "ｻﾄｳ ｲﾁﾛｳ"},
]


def field_value(field: Any, rnd: random.Random, today: date) -> Any:
    kind = field.type
    if kind == "text":
        if field.pattern:
            return PATTERN_EXAMPLES[field.pattern]
        return rnd.choice(["テスト", "ｶﾞｲﾄﾞ", "１２３番地", "Example text"])[: field.max_length]
    if kind == "textarea":
        return "詳細です。\n二行目。"[: field.max_length]
    if kind == "integer":
        low = field.minimum if field.minimum is not None else 0
        high = field.maximum if field.maximum is not None else low + 5
        return rnd.randint(low, min(high, low + 5))
    if kind == "number":
        return (field.minimum or 0) + 0.5
    if kind == "date":
        low = resolve_bound(field.minimum or "1950-01-01", today)
        high = resolve_bound(field.maximum or "2026-11-30", today)
        return (low + timedelta(days=rnd.randint(0, max((high - low).days, 0)))).isoformat()
    if kind in ("select", "radio"):
        return rnd.choice(field.options).value
    if kind == "multiselect":
        low = max(field.min_items or 1, 1)
        high = min(len(field.options), field.max_items or len(field.options))
        chosen = rnd.sample(field.options, rnd.randint(low, max(low, high)))
        return [option.value for option in chosen]
    if kind == "checkbox":
        return rnd.choice([True, False])
    if kind == "consent":
        return True
    if kind == "email":
        return "hanako@example.jp"
    if kind == "phone_jp":
        return rnd.choice(["0268-62-1111", "09012345678", "０２６８６２１１１１"])
    if kind == "postal_code_jp":
        return rnd.choice(["389-0517", "3860012", "３８９－０５１７"])
    if kind == "address_jp":
        return dict(rnd.choice(ADDRESSES))
    if kind == "name_with_kana":
        return dict(rnd.choice(NAMES))
    if kind == "my_number":
        return "123456789018"
    if kind == "file":
        count = rnd.randint(1, field.max_count)
        return [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(count)]
    if kind == "group":
        return [_fill(field.fields, rnd, today) for _ in range(_group_size(field, rnd))]
    raise AssertionError(f"no sample for field type {kind}")


def _group_size(field: GroupField, rnd: random.Random) -> int:
    return rnd.randint(max(field.min_items, 1), max(min(field.max_items, 3), field.min_items, 1))


def _fill(fields: Sequence[Any], rnd: random.Random, today: date) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    visible: dict[str, bool] = {}
    for field in fields:
        visible[field.key] = holds(field.when, answers, visible)
        if visible[field.key] and (field.required or rnd.random() < 0.7):
            answers[field.key] = field_value(field, rnd, today)
    return answers


def sample_answers(
    definition: ProcedureDefinition, seed: int, today: date | None = None
) -> dict[str, Any]:
    """A complete, valid set of answers as a citizen might type them (not normalised),
    on `today` (JST; by default the wall clock's), which relative date bounds name."""
    today = today or local_date(datetime.now(UTC))
    rnd = random.Random(seed)
    answers: dict[str, Any] = {}
    visible: dict[str, bool] = {}
    for step in definition.steps:
        step_shown = holds(step.when, answers, visible)
        for field in step.fields:
            visible[field.key] = step_shown and holds(field.when, answers, visible)
            if visible[field.key] and (field.required or rnd.random() < 0.7):
                answers[field.key] = field_value(field, rnd, today)
    return answers


def sample_answers_without_files(
    definition: ProcedureDefinition, seed: int, today: date | None = None, *, tries: int = 64
) -> dict[str, Any] | None:
    """Sample answers that name no attachment, as a request that creates and submits an
    application at once must be (files are uploaded to an existing application); None
    when every try needs a file (a required photo, say)."""
    for attempt in range(tries):
        answers = sample_answers(definition, seed * tries + attempt, today)
        if not _names_files(definition.steps, answers):
            return answers
    return None


def _names_files(steps: Sequence[Any], answers: dict[str, Any]) -> bool:
    for step in steps:
        for field in step.fields:
            if field.key not in answers:
                continue
            if field.type == "file":
                return True
            if isinstance(field, GroupField) and any(
                inner.type == "file" and inner.key in item
                for item in answers[field.key]
                for inner in field.fields
            ):
                return True
    return False
