"""Text that says nothing, or says it backwards: a required reason made of zero-width and
filler characters is refused, and a name cannot carry a bidi override into staff views."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.admin.conftest import ALLOWANCE, Staff, allowance_answers, submit_online

INVISIBLE = [
    "\u200b",
    "\u3164",
    "\u200b\u3164\u115f\u1160\uffa0",
    "\u2060\ufeff\u00ad",
    "\u3000\u200b\t",
]


@pytest.mark.parametrize("invisible", INVISIBLE)
async def test_a_reason_of_only_invisible_characters_is_refused(
    client: httpx.AsyncClient, staff: Staff, as_staff: Any, invisible: str
) -> None:
    application = await submit_online(client, ALLOWANCE, allowance_answers())
    kosodate = as_staff(staff.kosodate)
    path = f"/submissions/{application['id']}"

    reveal = await kosodate.post(
        f"{path}/reveal-my-number", json={"field": "/applicant_my_number", "reason": invisible}
    )
    assert reveal.status_code == 422, reveal.text
    assert [error["code"] for error in reveal.json()["errors"]] == ["text_blank"]
    assert "my_number" not in reveal.json()

    comment = await kosodate.post(f"{path}/comments", json={"body": invisible})
    assert comment.status_code == 422
    started = await kosodate.post(
        f"{path}/transitions",
        json={"action": "start_review"},
        if_match=await kosodate.etag(application["id"]),
    )
    assert started.status_code == 200
    rejected = await kosodate.post(
        f"{path}/transitions",
        json={"action": "reject", "reason": invisible},
        if_match=started.json()["etag"],
    )
    assert rejected.status_code == 422
    assert (await kosodate.get(path)).json()["status"] == "in_review"

    # Visible text around the invisible is a reason like any other.
    revealed = await kosodate.post(
        f"{path}/reveal-my-number",
        json={"field": "/applicant_my_number", "reason": f"{invisible}住基ネット照会"},
    )
    assert revealed.status_code == 200


async def test_a_bidi_override_never_reaches_a_staff_view(
    client: httpx.AsyncClient, staff: Staff, as_staff: Any
) -> None:
    answers = allowance_answers()
    answers["children"][1]["name"] = "東御 \u202e郎太\u202c"
    application = await submit_online(client, ALLOWANCE, answers)
    detail = await as_staff(staff.kosodate).get(f"/submissions/{application['id']}")
    assert detail.json()["answers"]["children"][1]["name"] == "東御 郎太"

    admin = as_staff(staff.admin)
    for name in ("\u202e者当担 査審", "審査\u2066担当\u2069"):
        account = {
            "email": f"new.{len(name)}@{staff.admin.municipality_code}.example",
            "display_name": name,
            "department": "市民課",
            "roles": ["reviewer"],
            "password": "a-long-first-password",
        }
        created = await admin.post("/staff", json=account)
        assert created.status_code == 422, created.text
        assert [error["code"] for error in created.json()["errors"]] == ["text_bidi_control"]
    renamed = await admin.request(
        "PATCH", f"/staff/{staff.shimin.id}", json={"display_name": "\u202e課民市"}
    )
    assert renamed.status_code == 422
    blank = await admin.request("PATCH", f"/staff/{staff.shimin.id}", json={"department": "\u3164"})
    assert blank.status_code == 422
