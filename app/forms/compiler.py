"""The form compiler: a procedure definition -> JSON Schema, answer validator, fee calculator.

    definition = check_definition(data)        # or DefinitionInvalid, every problem listed
    form = compile_definition(definition)
    result = form.validate(answers)            # canonical answers + every FieldError
    fee = form.calculate_fee(result.answers)   # integer yen, line by line

Compiling is pure, so a published version (immutable) is compiled once per process and
kept in a bounded cache (`compiled_form_for`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from app.forms.definition import DateField, Localized, ProcedureDefinition
from app.forms.definition_check import DefinitionInvalid, check_definition, raise_for_problems
from app.forms.fees import FeeBreakdown, FeeLineItem, calculate_fee, fee_summary
from app.forms.json_schema import build_json_schema
from app.forms.validation import ValidationResult, validate_answers
from app.jp_calendar import local_date

__all__ = [
    "CompiledForm",
    "DefinitionInvalid",
    "FeeBreakdown",
    "FeeLineItem",
    "ValidationResult",
    "check_definition",
    "compile_definition",
    "compiled_form_for",
]

CACHE_SIZE = 256


class CompiledForm:
    """A checked definition with its JSON Schema, validator and fee calculator.

    Shared between requests through the cache: treat `json_schema` as read-only.
    """

    def __init__(self, definition: ProcedureDefinition) -> None:
        self.definition = definition
        self.json_schema: dict[str, Any] = build_json_schema(definition)
        """Without a day: relative date bounds only as `x-madoguchi.date_bounds`."""
        self.fee_summary: Localized = fee_summary(definition)
        self.has_relative_dates = any(
            field.has_relative_bounds
            for step in definition.steps
            for top in step.fields
            for field in (top, *top.item_fields)
            if isinstance(field, DateField)
        )
        self._schema_of_day: tuple[dt.date, dict[str, Any]] | None = None

    def json_schema_on(self, today: dt.date) -> dict[str, Any]:
        """The schema served on `today` (JST): relative date bounds resolved to that day.
        The same object as `json_schema` when the form has none; else built once a day."""
        if not self.has_relative_dates:
            return self.json_schema
        cached = self._schema_of_day
        if cached is not None and cached[0] == today:
            return cached[1]
        schema = build_json_schema(self.definition, today)
        self._schema_of_day = (today, schema)
        return schema

    def validate(
        self, answers: Any, *, partial: bool = False, now: dt.datetime | None = None
    ) -> ValidationResult:
        """Normalise and check answers; `partial` for a draft (下書き), where missing
        required answers and too few group items are not errors yet. `now`: the
        request's clock, needed when the form has relative date bounds (`today`)."""
        today = local_date(now) if now is not None else None
        return validate_answers(self.definition, answers, partial=partial, today=today)

    def calculate_fee(self, answers: dict[str, Any]) -> FeeBreakdown:
        """The fee (手数料) for validated answers (`ValidationResult.answers`)."""
        return calculate_fee(self.definition, answers)


def compile_definition(definition: ProcedureDefinition) -> CompiledForm:
    """Compile a parsed definition; raises `DefinitionInvalid` if it breaks a rule
    that spans nodes (the compiler relies on those rules holding)."""
    raise_for_problems(definition)
    return CompiledForm(definition)


_cache: OrderedDict[str, CompiledForm] = OrderedDict()
_cache_lock = threading.Lock()


def cached_form(cache_key: str) -> CompiledForm | None:
    """The form `compiled_form_for(cache_key, ...)` compiled, if still cached."""
    with _cache_lock:
        form = _cache.get(cache_key)
        if form is not None:
            _cache.move_to_end(cache_key)
        return form


def compiled_form_for(cache_key: str, definition_data: Mapping[str, Any]) -> CompiledForm:
    """The compiled form of a published version, compiled at most once per process
    while it stays among the `CACHE_SIZE` most recently used. `cache_key` must change
    whenever the definition does (e.g. the version id)."""
    with _cache_lock:
        form = _cache.get(cache_key)
        if form is not None:
            _cache.move_to_end(cache_key)
            return form
    # Compiled outside the lock: two threads may both compile; both results are equal.
    form = CompiledForm(check_definition(definition_data))
    with _cache_lock:
        _cache[cache_key] = form
        _cache.move_to_end(cache_key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return form
