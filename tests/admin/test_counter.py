"""窓口受付: paper applications recorded by staff share the reference-number counter with
online ones and carry channel `counter`, so the KPI counts every channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.submissions.models import SubmissionEvent
from app.submissions.reference_numbers import fiscal_year_of
from tests.admin.conftest import (
    ALLOWANCE,
    APPLICANT_MY_NUMBER,
    CERTIFICATE,
    CERTIFICATE_ANSWERS,
    Staff,
    submit_online,
)
from tests.factories import TOMI, publish_definition, simple_definition
from tests.submissions.helpers import TOKYO

COUNTER = "/counter-submissions"


def _reiwa(moment: datetime) -> int:
    return fiscal_year_of(moment, timezone=TOKYO) - 2018


async def test_counter_application_gets_the_next_reference_number(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    online = await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS)
    received_at = utcnow() - timedelta(minutes=30)
    shimin = as_staff(staff.shimin)
    counter = await shimin.post(
        COUNTER,
        json={
            "procedure_code": CERTIFICATE,
            "received_at": received_at.isoformat(),
            "answers": {"copies": 2},
        },
    )
    assert counter.status_code == 201, counter.text
    body = counter.json()
    assert body["channel"] == "counter"
    assert body["status"] == "submitted"
    assert counter.headers["location"] == f"/api/v1/admin/submissions/{body['id']}"
    assert counter.headers["etag"] == body["etag"]
    year = _reiwa(received_at)
    assert online["reference_number"] == f"TOMI-R{year}-000001"
    assert body["reference_number"] == f"TOMI-R{year}-000002"
    assert datetime.fromisoformat(body["submitted_at"]) == received_at

    async with session_factory() as session:
        events = list(
            await session.scalars(
                select(SubmissionEvent)
                .where(SubmissionEvent.channel == "counter")
                .order_by(SubmissionEvent.id)
            )
        )
    assert [(e.from_status, e.to_status, e.actor_kind) for e in events] == [
        (None, "draft", "staff"),
        ("draft", "submitted", "staff"),
    ]
    assert events[-1].occurred_at == received_at
    assert events[-1].actor_id == str(staff.shimin.id)

    listed = await shimin.get("/submissions", params={"channel": "counter"})
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]
    log = await as_staff(staff.admin).get(
        "/audit-log", params={"action": "submission.counter_create"}
    )
    assert log.json()["items"][0]["target_id"] == body["id"]


async def test_received_before_april_counts_in_the_old_fiscal_year(
    client: httpx.AsyncClient, staff: Staff, as_staff: Any
) -> None:
    now = utcnow().astimezone(TOKYO)
    start_of_year = datetime(fiscal_year_of(now, timezone=TOKYO), 4, 1, tzinfo=TOKYO)
    received_at = start_of_year - timedelta(minutes=1)  # 31 March, 23:59 JST
    response = await as_staff(staff.admin).post(
        COUNTER, json={"procedure_code": CERTIFICATE, "received_at": received_at.isoformat()}
    )
    assert response.status_code == 201
    assert response.json()["reference_number"] == f"TOMI-R{_reiwa(received_at)}-000001"
    assert _reiwa(received_at) == _reiwa(now) - 1


async def test_counter_answers_are_checked_and_my_numbers_sealed(
    client: httpx.AsyncClient, staff: Staff, as_staff: Any
) -> None:
    kosodate = as_staff(staff.kosodate)
    received_at = utcnow().isoformat()
    invalid = await kosodate.post(
        COUNTER,
        json={
            "procedure_code": ALLOWANCE,
            "received_at": received_at,
            "answers": {"applicant_my_number": "123456789012"},
        },
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["path"] == "/applicant_my_number"
    assert "123456789012" not in invalid.text

    recorded = await kosodate.post(
        COUNTER,
        json={
            "procedure_code": ALLOWANCE,
            "received_at": received_at,
            "answers": {"applicant_my_number": APPLICANT_MY_NUMBER},
        },
    )
    assert recorded.status_code == 201
    detail = await kosodate.get(f"/submissions/{recorded.json()['id']}")
    assert detail.json()["answers"] == {
        "applicant_my_number": "********" + APPLICANT_MY_NUMBER[-4:]
    }


async def test_counter_refusals(client: httpx.AsyncClient, staff: Staff, as_staff: Any) -> None:
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    in_future = await as_staff(staff.admin).post(
        COUNTER, json={"procedure_code": CERTIFICATE, "received_at": future}
    )
    assert in_future.status_code == 422
    assert in_future.json()["code"] == "RECEIVED_AT_IN_FUTURE"

    naive = await as_staff(staff.admin).post(
        COUNTER, json={"procedure_code": CERTIFICATE, "received_at": "2026-04-01T09:00:00"}
    )
    assert naive.status_code == 422

    other_department = await as_staff(staff.shimin).post(
        COUNTER, json={"procedure_code": ALLOWANCE, "received_at": utcnow().isoformat()}
    )
    assert other_department.status_code == 404
    other_town = await as_staff(staff.ueda_admin).post(
        COUNTER, json={"procedure_code": "no-such-procedure", "received_at": utcnow().isoformat()}
    )
    assert other_town.status_code == 404
    assert (await as_staff(staff.finance).post(COUNTER, json={})).status_code == 403


async def test_counter_receipts_are_dated_within_the_procedure_and_the_fiscal_years(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Issue 15: 1900 used to give `TOMI-R-119-000001`. A receipt before the procedure was
    published, or before the previous 年度 began, is refused and nothing is stored."""
    admin = as_staff(staff.admin)
    now = utcnow().astimezone(TOKYO)
    previous_year_start = datetime(fiscal_year_of(now, timezone=TOKYO) - 1, 4, 1, tzinfo=TOKYO)

    in_1900 = await admin.post(
        COUNTER, json={"procedure_code": CERTIFICATE, "received_at": "1900-04-01T09:00:00+09:00"}
    )
    assert in_1900.status_code == 422
    assert in_1900.headers["content-type"] == "application/problem+json"
    assert in_1900.json()["code"] == "RECEIVED_AT_BEFORE_PUBLICATION"
    assert "公開開始" in in_1900.json()["detail_ja"]

    too_old = previous_year_start - timedelta(minutes=1)  # published long before
    refused = await admin.post(
        COUNTER, json={"procedure_code": CERTIFICATE, "received_at": too_old.isoformat()}
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "RECEIVED_AT_OUTSIDE_FISCAL_YEARS"
    assert previous_year_start.date().isoformat() in refused.json()["detail_ja"]

    await publish_definition(
        session_factory, TOMI, simple_definition("counter-new", fee_rules=[]), now=utcnow()
    )
    before_publication = await admin.post(
        COUNTER,
        json={
            "procedure_code": "counter-new",
            "received_at": (utcnow() - timedelta(hours=1)).isoformat(),
        },
    )
    assert before_publication.status_code == 422
    assert before_publication.json()["code"] == "RECEIVED_AT_BEFORE_PUBLICATION"
    assert (await admin.get("/submissions")).json()["total"] == 0

    oldest = await admin.post(
        COUNTER,
        json={"procedure_code": CERTIFICATE, "received_at": previous_year_start.isoformat()},
    )
    assert oldest.status_code == 201, oldest.text
    assert oldest.json()["reference_number"] == f"TOMI-R{_reiwa(previous_year_start)}-000001"
