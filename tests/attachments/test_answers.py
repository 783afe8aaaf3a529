"""Answers name uploaded files by id: an id is accepted only when it is a file uploaded
to this very application, of a kind and size the field allows; otherwise the answers are
refused at the id's JSON Pointer and nothing is saved."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.attachments import media
from tests.attachments.conftest import Draft, upload
from tests.factories import TOMI, publish_definition, simple_definition
from tests.submissions.helpers import create, create_draft, stored_submission, submit

PROCEDURE = "street-light-photo"


def definition_with_photos() -> dict[str, Any]:
    definition = simple_definition(PROCEDURE)
    definition["steps"][0]["fields"].append(
        {
            "key": "photos",
            "type": "file",
            "label": {"ja": "現場の写真", "en": "Photos of the spot"},
            "required": True,
            "kinds": ["image"],
            "max_count": 2,
        }
    )
    return definition


@pytest.fixture
async def photo_draft(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> Draft:
    await publish_definition(session_factory, TOMI, definition_with_photos())
    submission_id, token = await create_draft(
        api, {"copies": 1, "requester": "self"}, procedure=PROCEDURE
    )
    return Draft(submission_id, token)


async def _answer(api: httpx.AsyncClient, draft: Draft, photos: list[str]) -> httpx.Response:
    return await api.patch(
        f"/api/v1/submissions/{draft.id}",
        json={"answers": {"copies": 1, "requester": "self", "photos": photos}},
        headers=draft.headers,
    )


def _errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "VALIDATION_FAILED"
    return [(error["path"], error["code"]) for error in response.json()["errors"]]


async def test_a_photo_uploaded_to_the_application_is_submitted_with_it(
    api: httpx.AsyncClient, photo_draft: Draft, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    uploaded = await upload(api, photo_draft, media.jpeg_with_gps(), field="photos")
    assert uploaded.status_code == 201, uploaded.text
    photo_id = uploaded.json()["id"]

    answered = await _answer(api, photo_draft, [photo_id])
    assert answered.status_code == 200, answered.text
    submitted = await submit(api, photo_draft.id, photo_draft.token)
    assert submitted.status_code == 200, submitted.text
    stored = await stored_submission(session_factory, photo_draft.id)
    assert stored.answers["photos"] == [photo_id]


async def test_another_applications_file_is_refused_and_nothing_saved(
    api: httpx.AsyncClient, photo_draft: Draft, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    other_id, other_token = await create_draft(
        api, {"copies": 1, "requester": "self"}, procedure=PROCEDURE
    )
    theirs = await upload(api, Draft(other_id, other_token), media.jpeg_with_gps())
    assert theirs.status_code == 201
    mine = await upload(api, photo_draft, media.png())

    refused = await _answer(api, photo_draft, [mine.json()["id"], theirs.json()["id"]])

    assert _errors(refused) == [("/photos/1", "attachment_not_found")]
    message = refused.json()["errors"][0]["message_ja"]
    assert "添付ファイルが見つかりません" in message
    assert "photos" not in (await stored_submission(session_factory, photo_draft.id)).answers
    at_once = await create(
        api,
        {"copies": 1, "requester": "self", "photos": [theirs.json()["id"]]},
        submit=True,
        procedure=PROCEDURE,
    )
    assert _errors(at_once) == [("/photos/0", "attachment_not_found")]


async def test_a_pdf_where_only_photos_go_is_refused(
    api: httpx.AsyncClient, photo_draft: Draft
) -> None:
    pdf = await upload(
        api, photo_draft, media.plain_pdf(), filename="a.pdf", content_type="application/pdf"
    )
    assert pdf.status_code == 201

    refused = await _answer(api, photo_draft, [pdf.json()["id"]])

    assert _errors(refused) == [("/photos/0", "attachment_kind")]
    assert refused.json()["errors"][0]["message_ja"] == "この項目に添付できるのは画像だけです"


async def test_a_removed_file_cannot_be_submitted(
    api: httpx.AsyncClient, photo_draft: Draft
) -> None:
    uploaded = await upload(api, photo_draft, media.jpeg_with_gps())
    photo_id = uploaded.json()["id"]
    assert (await _answer(api, photo_draft, [photo_id])).status_code == 200
    removed = await api.delete(f"{photo_draft.attachments}/{photo_id}", headers=photo_draft.headers)
    assert removed.status_code == 204

    refused = await submit(api, photo_draft.id, photo_draft.token)

    assert _errors(refused) == [("/photos/0", "attachment_not_found")]


async def test_the_named_fields_rules_apply_to_the_upload(
    api: httpx.AsyncClient, photo_draft: Draft
) -> None:
    pdf = await upload(
        api,
        photo_draft,
        media.plain_pdf(),
        filename="a.pdf",
        content_type="application/pdf",
        field="photos",
    )
    assert pdf.status_code == 415, pdf.text
    assert pdf.json()["code"] == "ATTACHMENT_TYPE_NOT_ALLOWED"
    assert "添付できる種類: JPEG/PNG/WebP。" in pdf.json()["detail_ja"]

    unknown = await upload(api, photo_draft, media.png(), field="copies")
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["code"] == "ATTACHMENT_FIELD_INVALID"
    assert "copies" in unknown.json()["detail_ja"]

    photo = await upload(api, photo_draft, media.png(), field="photos")
    assert photo.status_code == 201, photo.text
    listing = await api.get(photo_draft.attachments, headers=photo_draft.headers)
    assert [item["kind"] for item in listing.json()["items"]] == ["image"]
