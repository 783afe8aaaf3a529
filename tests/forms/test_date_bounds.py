"""Relative date bounds (today, today+7d, today-18y, fiscal_year_start/end), 和暦 input and
NUL refusal: enforced by the validator against the request's day in Japan, and stated
in the schema the catalog serves that day (ETag and Cache-Control follow the day)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import jsonschema
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.dependencies import current_time
from app.forms.compiler import CompiledForm, DefinitionInvalid, check_definition, compile_definition
from app.forms.fields.date import resolve_bound
from app.main import create_app
from tests.factories import TOMI, publish_definition, seed_municipalities, simple_definition

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=TOKYO)  # 令和8年度


def label(ja: str) -> dict[str, str]:
    return {"ja": ja, "en": ja}


def bounded_definition() -> dict[str, Any]:
    date_fields: list[dict[str, Any]] = [
        {"key": "birth_date", "maximum": "today", "minimum": "1900-01-01"},
        {"key": "adult_birth_date", "maximum": "today-18y"},
        {"key": "collection_date", "minimum": "today+7d", "maximum": "today+3m"},
        {"key": "vaccination_date", "minimum": "fiscal_year_start", "maximum": "today"},
        {"key": "this_year", "minimum": "fiscal_year_start", "maximum": "fiscal_year_end"},
    ]
    return {
        "code": "bounded-dates",
        "title": label("日付の範囲"),
        "department": label("市民課"),
        "steps": [
            {
                "key": "dates",
                "title": label("日付"),
                "fields": [
                    {"type": "date", "label": label(field["key"]), **field} for field in date_fields
                ],
            }
        ],
    }


FORM: CompiledForm = compile_definition(check_definition(bounded_definition()))


def errors(answers: dict[str, Any], now: datetime = NOW) -> list[tuple[str, str]]:
    return [(e.path, e.code) for e in FORM.validate(answers, now=now).errors]


def test_bounds_are_resolved_against_the_day_of_the_request_in_japan() -> None:
    assert errors({"birth_date": "2026-11-28", "collection_date": "2026-12-05"}) == []
    assert errors({"birth_date": "2026-11-29"}) == [("/birth_date", "maximum")]
    assert errors({"collection_date": "2026-12-04"}) == [("/collection_date", "minimum")]
    assert errors({"collection_date": "2027-03-01"}) == [("/collection_date", "maximum")]
    assert errors({"adult_birth_date": "2008-11-28"}) == []
    assert errors({"adult_birth_date": "2008-11-29"}) == [("/adult_birth_date", "maximum")]
    # 23:30 on 28 November in UTC is already 29 November in Tokyo.
    late = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    assert errors({"birth_date": "2026-11-29"}, now=late) == []


def test_the_message_names_the_resolved_day() -> None:
    [error] = FORM.validate({"collection_date": "2026-11-30"}, now=NOW).errors
    assert error.message_ja == "2026年12月5日以降の日付を入力してください"
    assert error.message_en == "Enter a date on or after 2026-12-05"


def test_fiscal_year_bounds_follow_the_fiscal_year_of_the_day() -> None:
    assert errors({"vaccination_date": "2026-04-01", "this_year": "2027-03-31"}) == []
    assert errors({"vaccination_date": "2026-03-31"}) == [("/vaccination_date", "minimum")]
    assert errors({"this_year": "2027-04-01"}) == [("/this_year", "maximum")]
    new_year = datetime(2027, 4, 1, 0, 0, tzinfo=TOKYO)
    assert errors({"vaccination_date": "2026-05-10"}, now=new_year) == [
        ("/vaccination_date", "minimum")
    ]


def test_month_and_year_offsets_keep_to_real_days() -> None:
    assert resolve_bound("today-18y", date(2024, 2, 29)) == date(2006, 2, 28)
    assert resolve_bound("today+1m", date(2026, 1, 31)) == date(2026, 2, 28)
    assert resolve_bound("fiscal_year_end+1d", date(2026, 11, 28)) == date(2027, 4, 1)
    assert resolve_bound("2026-01-02", None) == date(2026, 1, 2)


def test_relative_bounds_need_the_request_clock() -> None:
    with pytest.raises(ValueError, match="needs the request's date"):
        FORM.validate({"birth_date": "2000-01-01"})


def test_bounds_the_definition_language_does_not_know_are_refused() -> None:
    data = bounded_definition()
    fields = data["steps"][0]["fields"]
    fields[0]["maximum"] = "tomorrow"
    fields[2]["minimum"] = "today+7w"
    fields[3]["minimum"] = "today+1d"  # after its maximum, today, on every day
    with pytest.raises(DefinitionInvalid) as raised:
        check_definition(data)
    assert [(e.path, e.code) for e in raised.value.errors] == [
        ("/steps/0/fields/0/maximum", "string_pattern_mismatch"),
        ("/steps/0/fields/2/minimum", "string_pattern_mismatch"),
    ]
    fields[0]["maximum"], fields[2]["minimum"] = "today", "today+7d"
    with pytest.raises(DefinitionInvalid) as raised:
        check_definition(data)
    assert [(e.path, e.code) for e in raised.value.errors] == [
        ("/steps/0/fields/3/minimum", "min_greater_than_max")
    ]


def test_the_schema_served_on_a_day_states_that_days_bounds() -> None:
    schema = FORM.json_schema_on(date(2026, 11, 28))
    jsonschema.Draft202012Validator.check_schema(schema)
    properties = schema["properties"]
    assert schema["x-madoguchi"]["bounds_as_of"] == "2026-11-28"
    assert properties["birth_date"]["formatMinimum"] == "1900-01-01"
    assert properties["birth_date"]["formatMaximum"] == "2026-11-28"
    assert properties["collection_date"]["formatMinimum"] == "2026-12-05"
    assert properties["vaccination_date"]["formatMinimum"] == "2026-04-01"
    assert properties["collection_date"]["x-madoguchi"]["date_bounds"] == {
        "minimum": "today+7d",
        "maximum": "today+3m",
    }
    assert FORM.json_schema_on(date(2026, 11, 28)) is schema  # built once a day
    assert FORM.json_schema_on(date(2026, 11, 29))["properties"]["birth_date"]["formatMaximum"] == (
        "2026-11-29"
    )
    # Without a day (the admin preview) only the annotation states a relative bound.
    static = FORM.json_schema["properties"]["collection_date"]
    assert "formatMinimum" not in static and static["x-madoguchi"]["date_bounds"]


def test_a_date_typed_in_wareki_is_accepted() -> None:
    result = FORM.validate(
        {"birth_date": "昭和63年2月3日", "adult_birth_date": "平成元年1月8日"}, now=NOW
    )
    assert result.ok
    assert result.answers == {"birth_date": "1988-02-03", "adult_birth_date": "1989-01-08"}
    assert FORM.validate({"birth_date": "２０００年１月２日"}, now=NOW).answers == {
        "birth_date": "2000-01-02"
    }
    # 平成 ended in its 31st year: no guess, the date is refused.
    assert errors({"birth_date": "平成45年1月1日"}) == [("/birth_date", "date")]


def test_nul_is_refused_by_the_validator_and_the_schema() -> None:
    form = compile_definition(check_definition(simple_definition()))
    answers = {"copies": 1, "requester": "agent", "agent_name": "山田\x00太郎"}
    assert [(e.path, e.code) for e in form.validate(answers).errors] == [
        ("/agent_name", "nul_character")
    ]
    assert not jsonschema.Draft202012Validator(form.json_schema).is_valid(answers)


# --- the catalog serves the day's schema --------------------------------------------------


class _Clock:
    moment = NOW

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
async def clocked(
    settings: Settings, engine: AsyncEngine
) -> AsyncIterator[tuple[httpx.AsyncClient, _Clock]]:
    app = create_app(settings)
    clock = _Clock()
    app.dependency_overrides[current_time] = clock
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, clock
    await app.state.engine.dispose()


async def test_etag_and_cache_control_follow_the_day_of_the_bounds(
    clocked: tuple[httpx.AsyncClient, _Clock],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    client, clock = clocked
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, bounded_definition())
    url = f"/api/v1/municipalities/{TOMI}/procedures/bounded-dates"

    clock.moment = datetime(2026, 11, 28, 23, 57, tzinfo=TOKYO)
    evening = await client.get(url)
    assert evening.status_code == 200
    assert evening.headers["etag"].endswith('-20261128"')
    # Cached at most until midnight in Japan, when the bounds move.
    assert evening.headers["cache-control"] == "public, max-age=180"
    birth = evening.json()["json_schema"]["properties"]["birth_date"]
    assert birth["formatMaximum"] == "2026-11-28"
    same_day = await client.get(url, headers={"If-None-Match": evening.headers["etag"]})
    assert same_day.status_code == 304

    clock.moment = datetime(2026, 11, 29, 0, 5, tzinfo=TOKYO)
    next_day = await client.get(url, headers={"If-None-Match": evening.headers["etag"]})
    assert next_day.status_code == 200
    assert next_day.headers["etag"].endswith('-20261129"')
    birth = next_day.json()["json_schema"]["properties"]["birth_date"]
    assert birth["formatMaximum"] == "2026-11-29"


async def test_a_form_without_relative_bounds_keeps_its_etag_across_days(
    clocked: tuple[httpx.AsyncClient, _Clock],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    client, clock = clocked
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, simple_definition())
    url = f"/api/v1/municipalities/{TOMI}/procedures/test-certificate"
    first = await client.get(url)
    clock.moment = datetime(2026, 12, 1, 9, 0, tzinfo=TOKYO)
    later = await client.get(url)
    assert first.headers["etag"] == later.headers["etag"]
    assert later.headers["cache-control"] == first.headers["cache-control"]
