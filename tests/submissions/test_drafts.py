"""A citizen fills in a procedure over several sittings, then submits it once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.forms import service as forms_service
from app.submissions.models import ReferenceCounter, Submission, SubmissionEvent
from tests.factories import TOMI, publish_definition, seed_municipalities, simple_definition
from tests.submissions.helpers import (
    PROBLEM,
    Clock,
    bearer,
    count_rows,
    create,
    create_draft,
    nothing_stored,
    stored_events,
    stored_submission,
    submit,
)


async def test_draft_saved_twice_then_submitted_with_fee_and_reference_number(
    api: httpx.AsyncClient,
    tomi: str,
    clock: Clock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock.set_tokyo(2025, 6, 2, 9, 30)  # 令和7年度
    created = await create(api, {"requester": "self"})
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    draft = created.json()
    assert draft["status"] == "draft"
    assert draft["reference_number"] is None
    assert draft["version"] == 1
    assert draft["procedure_code"] == "test-certificate"
    assert draft["access_token"].startswith("sat_")
    assert created.headers["location"] == f"/api/v1/submissions/{draft['id']}"
    owner = bearer(draft["access_token"])
    url = f"/api/v1/submissions/{draft['id']}"

    first = await api.patch(
        url, json={"answers": {"requester": "self", "copies": 1}}, headers=owner
    )
    assert first.status_code == 200
    assert first.json()["fee"]["total"] == 300
    second = await api.patch(
        url, json={"answers": {"requester": "self", "copies": 3}}, headers=owner
    )
    assert second.status_code == 200
    assert second.json()["answers"] == {"requester": "self", "copies": 3}

    clock.set_tokyo(2025, 6, 3, 20, 15)
    submitted = await submit(api, draft["id"], draft["access_token"])
    assert submitted.status_code == 200, submitted.text
    receipt = submitted.json()
    # 300 yen a copy, paid on submit: the amount is recorded and payment is awaited.
    assert receipt["status"] == "awaiting_payment"
    assert receipt["reference_number"] == "TOMI-R7-000001"
    assert receipt["fee"] == {
        "total": 900,
        "currency": "JPY",
        "items": [
            {
                "key": "copy_fee",
                "label": {"ja": "交付手数料", "en": "Issuance fee"},
                "unit_price": 300,
                "quantity": 3,
                "amount": 900,
            }
        ],
    }

    shown = (await api.get(url, headers=owner)).json()
    assert shown["answers"] == {"requester": "self", "copies": 3}
    assert shown["submitted_at"] == "2025-06-03T11:15:00Z"
    assert [(step["from"], step["to"], step["actor_kind"]) for step in shown["timeline"]] == [
        (None, "draft", "citizen"),
        ("draft", "awaiting_payment", "citizen"),
    ]

    stored = await stored_submission(session_factory, draft["id"])
    assert (stored.fee_total, stored.fiscal_year, stored.status) == (900, 2025, "awaiting_payment")
    events = await stored_events(session_factory, draft["id"])
    assert {(e.municipality_code, e.procedure_code, e.channel) for e in events} == {
        (TOMI, "test-certificate", "online")
    }


async def test_a_procedure_without_fee_due_on_submit_is_simply_submitted(
    api: httpx.AsyncClient, clock: Clock, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _publish(
        session_factory, simple_definition("after-review", payment_timing="after_review")
    )
    clock.set_tokyo(2025, 5, 1)
    response = await create(
        api, {"requester": "self", "copies": 2}, submit=True, procedure="after-review"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "submitted"
    assert body["reference_number"] == "TOMI-R7-000001"
    assert body["fee"]["total"] == 600  # recorded now, collected after review


async def test_validation_lists_every_problem_and_leaves_the_draft_unchanged(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    submission_id, token = await create_draft(api, {"requester": "agent", "copies": 2})
    before = await stored_submission(session_factory, submission_id)

    refused = await api.patch(
        f"/api/v1/submissions/{submission_id}",
        json={"answers": {"requester": "nobody", "copies": 0, "colour": "red"}},
        headers=bearer(token),
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert problem["code"] == "VALIDATION_FAILED"
    paths = {error["path"]: error["code"] for error in problem["errors"]}
    assert paths == {"/requester": "enum", "/copies": "minimum", "/colour": "unknown_field"}
    assert all(error["message_ja"] and error["message_en"] for error in problem["errors"])

    # Submitting the incomplete draft names every missing answer, and changes nothing.
    incomplete = await submit(api, submission_id, token)
    assert incomplete.status_code == 422
    assert {error["path"] for error in incomplete.json()["errors"]} == {"/agent_name"}

    after = await stored_submission(session_factory, submission_id)
    assert after.answers == before.answers == {"requester": "agent", "copies": 2}
    assert (after.status, after.reference_number, after.row_version) == (
        "draft",
        None,
        before.row_version,
    )
    assert len(await stored_events(session_factory, submission_id)) == 1
    assert await count_rows(session_factory, ReferenceCounter) == 0


async def test_a_refused_creation_leaves_nothing_behind(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # Submitting at once checks everything: copies and requester are missing.
    at_once = await create(api, {"agent_name": "山田"}, submit=True, key=str(uuid.uuid4()))
    assert at_once.status_code == 422
    assert {e["path"] for e in at_once.json()["errors"]} >= {"/copies", "/requester"}

    # The fee is the server's to compute: a client-sent amount is refused outright.
    with_fee = await api.post(
        "/api/v1/municipalities/202193/procedures/test-certificate/submissions",
        json={"answers": {"copies": 1, "requester": "self"}, "fee": 0},
    )
    assert with_fee.status_code == 422
    assert [e["path"] for e in with_fee.json()["errors"]] == ["/body/fee"]

    not_an_object = await api.post(
        "/api/v1/municipalities/202193/procedures/test-certificate/submissions",
        json={"answers": ["copies", 1]},
    )
    assert not_an_object.status_code == 422

    unknown_procedure = await create(api, {}, procedure="no-such-procedure")
    assert unknown_procedure.status_code == 404
    assert unknown_procedure.json()["code"] == "PROCEDURE_NOT_FOUND"

    assert await nothing_stored(session_factory)


async def test_caps_on_bad_input(
    api: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    definition = simple_definition("capped")
    definition["steps"][0]["fields"].append(
        {
            "key": "children",
            "type": "group",
            "label": {"ja": "児童", "en": "Children"},
            "max_items": 2,
            "fields": [
                {
                    "key": "name",
                    "type": "text",
                    "label": {"ja": "氏名", "en": "Name"},
                    "max_length": 10,
                }
            ],
        }
    )
    await _publish(session_factory, definition)
    url = "/api/v1/municipalities/202193/procedures/capped/submissions"

    too_long = await api.post(url, json={"answers": {"children": [{"name": "あ" * 11}]}})
    assert too_long.status_code == 422
    assert [(e["path"], e["code"]) for e in too_long.json()["errors"]] == [
        ("/children/0/name", "max_length")
    ]

    too_many = await api.post(url, json={"answers": {"children": [{"name": "太郎"}] * 3}})
    assert too_many.status_code == 422
    assert [(e["path"], e["code"]) for e in too_many.json()["errors"]] == [
        ("/children", "max_items")
    ]

    too_big = await api.post(url, json={"answers": {"agent_name": "x" * 300_000}})
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "PAYLOAD_TOO_LARGE"

    nested: object = "deep"
    for _ in range(40):
        nested = [nested]
    too_deep = await api.post(url, json={"answers": {"agent_name": nested}})
    assert too_deep.status_code == 400
    assert too_deep.json()["code"] == "JSON_TOO_DEEP"

    assert await nothing_stored(session_factory)


async def test_an_application_keeps_its_version_after_a_new_one_and_retirement(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    submission_id, token = await create_draft(api, {"requester": "self", "copies": 2})

    dearer = simple_definition()
    dearer["fee_rules"][0]["unit_price"] = 450
    assert await _publish(session_factory, dearer) == "published v2"
    new_draft = (await create(api, {"requester": "self", "copies": 2})).json()
    assert (new_draft["version"], new_draft["fee"]["total"]) == (2, 900)

    submitted = await submit(api, submission_id, token)
    assert submitted.status_code == 200
    assert (submitted.json()["version"], submitted.json()["fee"]["total"]) == (1, 600)

    async with session_factory() as session, session.begin():
        procedure = await forms_service.get_procedure(session, TOMI, "test-certificate")
        await forms_service.retire_procedure(session, procedure, now=datetime.now(UTC))

    shown = await api.get(f"/api/v1/submissions/{submission_id}", headers=bearer(token))
    assert shown.status_code == 200
    assert (shown.json()["version"], shown.json()["fee"]["total"]) == (1, 600)
    withdrawn = await api.post(
        f"/api/v1/submissions/{submission_id}/withdraw", headers=bearer(token)
    )
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"

    # A retired procedure takes no new applications.
    assert (await create(api, {"requester": "self"})).status_code == 404


async def test_answers_are_stored_normalised_and_hidden_answers_dropped(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # agent_name is asked only when requester is agent; for "self" it is not kept.
    submission_id, _ = await create_draft(
        api, {"requester": "self", "copies": 1, "agent_name": "山田花子"}
    )
    async with session_factory() as session:
        stored = await session.scalar(
            select(Submission.answers).where(Submission.id == uuid.UUID(submission_id))
        )
        events = await session.scalars(select(SubmissionEvent.to_status))
        assert list(events) == ["draft"]
    assert stored == {"requester": "self", "copies": 1}


async def _publish(
    session_factory: async_sessionmaker[AsyncSession], definition: dict[str, object]
) -> str:
    await seed_municipalities(session_factory)
    return await publish_definition(session_factory, TOMI, dict(definition))
