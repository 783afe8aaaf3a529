"""The review workflow as staff use it: list, detail (audited), assign and claim,
decisions with their texts, internal notes, and optimistic concurrency via ETags."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEntry
from app.submissions.models import Submission
from tests.admin.conftest import (
    ALLOWANCE,
    CERTIFICATE,
    CERTIFICATE_ANSWERS,
    Staff,
    allowance_answers,
    submit_online,
)
from tests.factories import UEDA


async def test_list_filters_sorts_and_pages(
    client: httpx.AsyncClient, staff: Staff, as_staff: Any
) -> None:
    certificates = [await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS) for _ in range(3)]
    allowance = await submit_online(client, ALLOWANCE, allowance_answers())
    draft = await client.post(
        f"/api/v1/municipalities/202193/procedures/{CERTIFICATE}/submissions",
        json={"answers": {}},
    )
    await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS, municipality_code=UEDA)
    admin = as_staff(staff.admin)

    everything = await admin.get("/submissions")
    assert everything.status_code == 200
    body = everything.json()
    assert body["total"] == 4  # the draft and 上田市's application are not listed
    ids = [item["id"] for item in body["items"]]
    assert draft.json()["id"] not in ids
    assert ids[0] == allowance["id"]  # newest first
    item = body["items"][0]
    assert item["department"] == "子育て支援課"
    assert item["procedure_title"]["ja"] == "テスト手当の請求"
    assert item["reference_number"].startswith("TOMI-R")
    assert "answers" not in item

    page = await admin.get("/submissions", params={"sort": "reference_number", "limit": 2})
    assert page.json()["total"] == 4
    assert [i["id"] for i in page.json()["items"]] == [c["id"] for c in certificates[:2]]

    by_procedure = await admin.get("/submissions", params={"procedure_code": ALLOWANCE})
    assert [i["id"] for i in by_procedure.json()["items"]] == [allowance["id"]]
    by_department = await admin.get("/submissions", params={"department": "市民課"})
    assert by_department.json()["total"] == 3
    by_reference = await admin.get(
        "/submissions", params={"reference_number": certificates[1]["reference_number"]}
    )
    assert [i["id"] for i in by_reference.json()["items"]] == [certificates[1]["id"]]
    by_status = await admin.get("/submissions", params={"status": ["in_review", "approved"]})
    assert by_status.json()["total"] == 0
    by_channel = await admin.get("/submissions", params={"channel": "counter"})
    assert by_channel.json()["total"] == 0
    later = await admin.get("/submissions", params={"submitted_from": "2999-01-01T00:00:00+09:00"})
    assert later.json()["total"] == 0


async def test_reviewers_see_only_their_department(
    client: httpx.AsyncClient, staff: Staff, as_staff: Any
) -> None:
    certificate = await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS)
    allowance = await submit_online(client, ALLOWANCE, allowance_answers())
    shimin, kosodate = as_staff(staff.shimin), as_staff(staff.kosodate)

    listed = await shimin.get("/submissions")
    assert [i["id"] for i in listed.json()["items"]] == [certificate["id"]]
    asked_for_other = await shimin.get("/submissions", params={"department": "子育て支援課"})
    assert asked_for_other.json()["total"] == 0
    assert (await shimin.get(f"/submissions/{allowance['id']}")).status_code == 404
    assert (await kosodate.get(f"/submissions/{allowance['id']}")).status_code == 200
    assert (await kosodate.get(f"/submissions/{certificate['id']}")).status_code == 404
    forbidden = await as_staff(staff.finance).get("/submissions")
    assert forbidden.status_code == 403


async def test_every_detail_view_leaves_an_audit_entry(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS)
    shimin = as_staff(staff.shimin)
    for request_id in ("read-one-0001", "read-two-0002"):
        response = await shimin.get(
            f"/submissions/{application['id']}", headers={"X-Request-ID": request_id}
        )
        assert response.status_code == 200
    async with session_factory() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "submission.read")
                .order_by(AuditEntry.id)
            )
        )
    assert [(e.actor_id, e.target_id, e.request_id) for e in entries] == [
        (str(staff.shimin.id), application["id"], "read-one-0001"),
        (str(staff.shimin.id), application["id"], "read-two-0002"),
    ]
    assert {e.municipality_code for e in entries} == {"202193"}


async def test_decisions_follow_the_lifecycle_with_their_texts(
    client: httpx.AsyncClient, staff: Staff, as_staff: Any
) -> None:
    application = await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS)
    path = f"/submissions/{application['id']}"
    shimin = as_staff(staff.shimin)

    approve_too_early = await shimin.post(
        f"{path}/transitions",
        json={"action": "approve"},
        if_match=await shimin.etag(application["id"]),
    )
    assert approve_too_early.status_code == 409
    assert approve_too_early.json()["code"] == "ILLEGAL_TRANSITION"

    started = await shimin.post(
        f"{path}/transitions",
        json={"action": "start_review"},
        if_match=await shimin.etag(application["id"]),
    )
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "in_review"

    no_message = await shimin.post(
        f"{path}/transitions", json={"action": "return"}, if_match=started.json()["etag"]
    )
    assert no_message.status_code == 422
    blank_reason = await shimin.post(
        f"{path}/transitions",
        json={"action": "reject", "reason": "   "},
        if_match=started.json()["etag"],
    )
    assert blank_reason.status_code == 422

    returned = await shimin.post(
        f"{path}/transitions",
        json={"action": "return", "message": "通数を確認してください"},
        if_match=started.json()["etag"],
    )
    assert returned.status_code == 200
    assert returned.json()["status"] == "returned"

    # The applicant sees the message and resubmits; staff review again and reject.
    citizen = {"Authorization": f"Bearer {application['access_token']}"}
    seen = await client.get(f"/api/v1/submissions/{application['id']}", headers=citizen)
    assert seen.json()["timeline"][-1]["comment"] == "通数を確認してください"
    resubmitted = await client.post(
        f"/api/v1/submissions/{application['id']}/submit", headers=citizen
    )
    assert resubmitted.json()["status"] == "resubmitted"
    etag = await shimin.etag(application["id"])
    restarted = await shimin.post(
        f"{path}/transitions", json={"action": "start_review"}, if_match=etag
    )
    rejected = await shimin.post(
        f"{path}/transitions",
        json={"action": "reject", "reason": "請求者の資格がありません"},
        if_match=restarted.json()["etag"],
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decided_at"] is not None

    detail = await shimin.get(path)
    timeline = detail.json()["timeline"]
    assert [(e["from"], e["to"]) for e in timeline] == [
        (None, "draft"),
        ("draft", "submitted"),
        ("submitted", "in_review"),
        ("in_review", "returned"),
        ("returned", "resubmitted"),
        ("resubmitted", "in_review"),
        ("in_review", "rejected"),
    ]
    assert timeline[-1]["actor_id"] == str(staff.shimin.id)
    assert timeline[-1]["comment"] == "請求者の資格がありません"

    log = await as_staff(staff.admin).get(
        "/audit-log", params={"action": "submission.reject", "target_id": application["id"]}
    )
    assert log.json()["items"][0]["reason"] == "請求者の資格がありません"
    assert log.json()["items"][0]["details"] == {"from": "in_review", "to": "rejected"}


async def test_writes_need_the_current_etag(
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    application = await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS)
    path = f"/submissions/{application['id']}"
    shimin = as_staff(staff.shimin)
    detail = await shimin.get(path)
    etag = detail.headers["etag"]
    assert etag == detail.json()["etag"]

    missing = await shimin.post(f"{path}/transitions", json={"action": "start_review"})
    assert missing.status_code == 428
    assert missing.json()["code"] == "PRECONDITION_REQUIRED"
    wildcard = await shimin.post(f"{path}/claim", if_match="*")
    assert wildcard.status_code == 428

    claimed = await shimin.post(f"{path}/claim", if_match=etag)
    assert claimed.status_code == 200
    assert claimed.json()["assignee"]["id"] == str(staff.shimin.id)
    assert claimed.headers["etag"] != etag  # the assignee is part of what the ETag covers

    stale = await shimin.post(f"{path}/transitions", json={"action": "start_review"}, if_match=etag)
    assert stale.status_code == 409
    assert stale.json()["code"] == "SUBMISSION_CHANGED"
    async with session_factory() as session:
        stored = await session.get_one(Submission, uuid.UUID(application["id"]))
    assert stored.status == "submitted"
    assert f'"{stored.row_version}"' == claimed.headers["etag"]


async def test_assign_claim_and_the_assignee_filter(
    client: httpx.AsyncClient, staff: Staff, as_staff: Any
) -> None:
    first = await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS)
    second = await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS)
    admin, shimin = as_staff(staff.admin), as_staff(staff.shimin)

    wrong_department = await admin.post(
        f"/submissions/{first['id']}/assign",
        json={"assignee_id": str(staff.kosodate.id)},
        if_match=await admin.etag(first["id"]),
    )
    assert wrong_department.status_code == 422
    assert wrong_department.json()["code"] == "ASSIGNEE_INVALID"
    other_town = await admin.post(
        f"/submissions/{first['id']}/assign",
        json={"assignee_id": str(staff.ueda_admin.id)},
        if_match=await admin.etag(first["id"]),
    )
    assert other_town.status_code == 404

    assigned = await admin.post(
        f"/submissions/{first['id']}/assign",
        json={"assignee_id": str(staff.shimin.id)},
        if_match=await admin.etag(first["id"]),
    )
    assert assigned.status_code == 200
    assert assigned.json()["assignee"]["display_name"] == staff.shimin.display_name

    mine = await shimin.get("/submissions", params={"assignee": "me"})
    assert [i["id"] for i in mine.json()["items"]] == [first["id"]]
    unassigned = await shimin.get("/submissions", params={"assignee": "none"})
    assert [i["id"] for i in unassigned.json()["items"]] == [second["id"]]
    by_id = await admin.get("/submissions", params={"assignee": str(staff.shimin.id)})
    assert by_id.json()["total"] == 1

    released = await admin.post(
        f"/submissions/{first['id']}/assign",
        json={"assignee_id": None},
        if_match=assigned.json()["etag"],
    )
    assert released.json()["assignee"] is None
    assert (await shimin.get("/submissions", params={"assignee": "none"})).json()["total"] == 2


async def test_internal_comments_stay_internal(
    client: httpx.AsyncClient, staff: Staff, as_staff: Any
) -> None:
    application = await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS)
    shimin = as_staff(staff.shimin)
    etag = await shimin.etag(application["id"])
    added = await shimin.post(
        f"/submissions/{application['id']}/comments", json={"body": "電話で本人確認済み"}
    )
    assert added.status_code == 201
    detail = await shimin.get(f"/submissions/{application['id']}")
    assert [c["body"] for c in detail.json()["comments"]] == ["電話で本人確認済み"]
    assert detail.headers["etag"] == etag  # a note does not change the application

    citizen = {"Authorization": f"Bearer {application['access_token']}"}
    own_view = await client.get(f"/api/v1/submissions/{application['id']}", headers=citizen)
    assert "電話で本人確認済み" not in own_view.text
