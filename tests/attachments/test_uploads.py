"""Uploading, listing, opening and removing attachments as the applicant."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import httpx
from PIL import ExifTags, Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.attachments.models import Attachment
from app.config import Settings
from tests.attachments import media
from tests.attachments.conftest import (
    GENERAL_BODY_CAP,
    MAX_COUNT,
    MAX_FILE_BYTES,
    Draft,
    upload,
)
from tests.submissions.helpers import PROBLEM, bearer, count_rows, create_draft, submit


def _stored_files(settings: Settings) -> list[Path]:
    return [path for path in settings.attachment_dir.rglob("*") if path.is_file()]


async def test_a_photo_comes_back_upright_without_exif_gps_or_appended_bytes(
    api: httpx.AsyncClient, draft: Draft, settings: Settings
) -> None:
    original = media.jpeg_with_gps(64, 32, orientation=6)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    response = await upload(api, draft, original, filename="IMG_0042.jpeg")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "image"
    assert body["content_type"] == "image/jpeg"
    assert body["filename"] == "IMG_0042.jpg"
    assert body["scan_status"] == "not_scanned"
    content = await api.get(f"{draft.attachments}/{body['id']}/content", headers=draft.headers)
    assert content.status_code == 200
    assert content.headers["content-type"] == "image/jpeg"
    assert int(content.headers["content-length"]) == body["size_bytes"] == len(content.content)
    photo = Image.open(io.BytesIO(content.content))
    exif = photo.getexif()
    assert len(exif) == 0
    assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert b"Exif" not in content.content and b"SN-0042" not in content.content
    assert media.APPENDED not in content.content
    # Orientation 6 applied: the 64x32 landscape picture is now 32x64, the blue half on top.
    assert photo.size == (32, 64)
    blue_top = photo.getpixel((16, 8))
    assert isinstance(blue_top, tuple) and blue_top[2] > 150 and blue_top[0] < 100


async def test_stored_bytes_are_encrypted(
    api: httpx.AsyncClient, draft: Draft, settings: Settings
) -> None:
    response = await upload(api, draft, media.plain_pdf(), filename="委任状.pdf")
    assert response.status_code == 201, response.text
    [stored] = _stored_files(settings)
    raw = stored.read_bytes()
    assert raw.startswith(b"MDA1")
    assert b"%PDF" not in raw
    content = await api.get(
        f"{draft.attachments}/{response.json()['id']}/content", headers=draft.headers
    )
    assert content.content == media.plain_pdf() or content.content.startswith(b"%PDF")
    assert (
        "filename*=UTF-8''%E5%A7%94%E4%BB%BB%E7%8A%B6.pdf"
        in (content.headers["content-disposition"])
    )


async def test_a_renamed_executable_is_refused(
    api: httpx.AsyncClient,
    draft: Draft,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    response = await upload(api, draft, media.windows_executable(), filename="photo.jpg")

    assert response.status_code == 415
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == "ATTACHMENT_TYPE_NOT_ALLOWED"
    assert "添付できません" in problem["title_ja"]
    assert await count_rows(session_factory, Attachment) == 0
    assert _stored_files(settings) == []


async def test_an_oversized_file_is_refused_as_it_streams(
    api: httpx.AsyncClient,
    draft: Draft,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    oversized = media.png() + b"\0" * MAX_FILE_BYTES

    response = await upload(api, draft, oversized, filename="big.png", content_type="image/png")

    assert response.status_code == 413
    assert response.json()["code"] == "ATTACHMENT_TOO_LARGE"
    assert response.json()["limit_bytes"] == MAX_FILE_BYTES
    assert await count_rows(session_factory, Attachment) == 0
    assert _stored_files(settings) == []


async def test_a_body_far_over_the_upload_cap_is_refused_by_its_length(
    api: httpx.AsyncClient, draft: Draft
) -> None:
    response = await upload(api, draft, b"\xff\xd8\xff" + b"\0" * (MAX_FILE_BYTES + 100_000))
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_the_upload_route_alone_takes_bodies_over_the_general_cap(
    api: httpx.AsyncClient, draft: Draft
) -> None:
    """MAX_REQUEST_BODY_BYTES stays the cap everywhere else, e.g. on answers."""
    photo = media.noise_png()
    assert GENERAL_BODY_CAP < len(photo) < MAX_FILE_BYTES

    response = await upload(api, draft, photo, filename="a.png", content_type="image/png")
    assert response.status_code == 201, response.text

    big_answers = {"copies": 1, "requester": "agent", "agent_name": "x" * GENERAL_BODY_CAP}
    response = await api.patch(
        f"/api/v1/submissions/{draft.id}", json={"answers": big_answers}, headers=draft.headers
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    # The same size of body to another multipart route is refused as well.
    other = await api.post(
        f"/api/v1/submissions/{draft.id}/submit",
        files={"file": ("a.png", photo, "image/png")},
        headers=draft.headers,
    )
    assert other.status_code == 413


async def test_pdfs_with_javascript_launch_actions_or_embedded_files_are_refused(
    api: httpx.AsyncClient, draft: Draft, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    cases = [
        (media.pdf_with_javascript(), "ATTACHMENT_PDF_ACTIVE_CONTENT"),
        (media.pdf_with_hidden_open_action(), "ATTACHMENT_PDF_ACTIVE_CONTENT"),
        (media.pdf_with_launch_action(), "ATTACHMENT_PDF_ACTIVE_CONTENT"),
        (media.pdf_with_embedded_file(), "ATTACHMENT_PDF_EMBEDDED_FILE"),
        (media.broken_pdf(), "ATTACHMENT_PDF_INVALID"),
    ]
    assert b"/JavaScript" not in media.pdf_with_hidden_open_action()
    for content, code in cases:
        response = await upload(
            api, draft, content, filename="doc.pdf", content_type="application/pdf"
        )
        assert response.status_code == 422, (code, response.text)
        assert response.json()["code"] == code
        assert response.json()["detail_ja"]
    assert await count_rows(session_factory, Attachment) == 0

    accepted = await upload(
        api, draft, media.handmade_pdf(""), filename="doc.pdf", content_type="application/pdf"
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["kind"] == "pdf"


async def test_an_empty_file_and_a_malformed_body_are_refused(
    api: httpx.AsyncClient, draft: Draft
) -> None:
    empty = await upload(api, draft, b"")
    assert empty.status_code == 422
    assert empty.json()["code"] == "ATTACHMENT_EMPTY"

    wrong_part = await api.post(
        draft.attachments,
        files={"photo": ("a.png", media.png(), "image/png")},
        headers=draft.headers,
    )
    assert wrong_part.status_code == 400
    assert wrong_part.json()["code"] == "ATTACHMENT_UPLOAD_INVALID"

    not_multipart = await api.post(
        draft.attachments,
        content=media.png(),
        headers={**draft.headers, "Content-Type": "image/png"},
    )
    assert not_multipart.status_code == 400
    assert not_multipart.json()["code"] == "ATTACHMENT_UPLOAD_INVALID"


async def test_another_callers_attachment_is_not_found(
    api: httpx.AsyncClient, draft: Draft, settings: Settings
) -> None:
    uploaded = await upload(api, draft, media.png(), filename="a.png", content_type="image/png")
    assert uploaded.status_code == 201
    attachment_id = uploaded.json()["id"]
    other_id, other_token = await create_draft(api, {"copies": 1, "requester": "self"})
    other = bearer(other_token)

    own_url = f"{draft.attachments}/{attachment_id}"
    assert (await api.get(f"{own_url}/content", headers=other)).status_code == 404
    assert (await api.get(draft.attachments, headers=other)).status_code == 404
    assert (await api.delete(own_url, headers=other)).status_code == 404
    assert (await upload(api, draft, media.png(), headers=other)).status_code == 404
    # Named through the other caller's own application: still not theirs.
    via_own = f"/api/v1/submissions/{other_id}/attachments/{attachment_id}"
    response = await api.get(f"{via_own}/content", headers=other)
    assert response.status_code == 404
    assert response.json()["code"] == "ATTACHMENT_NOT_FOUND"
    assert (await api.delete(via_own, headers=other)).status_code == 404
    # No credentials at all: 401, before anything is looked up.
    assert (await api.get(draft.attachments)).status_code == 401
    assert len(_stored_files(settings)) == 1


async def test_list_and_remove_own_attachments(
    api: httpx.AsyncClient, draft: Draft, settings: Settings
) -> None:
    first = (await upload(api, draft, media.png(), filename="a.png")).json()
    second = (await upload(api, draft, media.plain_pdf(), filename="b.pdf")).json()

    listing = await api.get(draft.attachments, headers=draft.headers)
    assert listing.status_code == 200
    body = listing.json()
    assert [item["id"] for item in body["items"]] == [first["id"], second["id"]]
    assert body["total_bytes"] == first["size_bytes"] + second["size_bytes"]
    assert body["max_count"] == MAX_COUNT

    removed = await api.delete(f"{draft.attachments}/{first['id']}", headers=draft.headers)
    assert removed.status_code == 204
    after = (await api.get(draft.attachments, headers=draft.headers)).json()
    assert [item["id"] for item in after["items"]] == [second["id"]]
    assert len(_stored_files(settings)) == 1
    gone = await api.get(f"{draft.attachments}/{first['id']}/content", headers=draft.headers)
    assert gone.status_code == 404


async def test_the_count_limit_holds(api: httpx.AsyncClient, draft: Draft) -> None:
    for _ in range(MAX_COUNT):
        assert (await upload(api, draft, media.png(), content_type="image/png")).status_code == 201
    response = await upload(api, draft, media.png(), content_type="image/png")
    assert response.status_code == 409
    assert response.json()["code"] == "ATTACHMENT_COUNT_EXCEEDED"


async def test_the_total_size_limit_holds(api: httpx.AsyncClient, draft: Draft) -> None:
    # Photos of noise barely compress: each is close to the per-file limit.
    sizes = []
    for seed in range(4):
        photo = media.noise_png(seed=seed)
        assert len(photo) < MAX_FILE_BYTES
        response = await upload(api, draft, photo, filename=f"{seed}.png", content_type="image/png")
        if response.status_code != 201:
            break
        sizes.append(response.json()["size_bytes"])
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "ATTACHMENT_TOTAL_TOO_LARGE"
    listing = (await api.get(draft.attachments, headers=draft.headers)).json()
    assert listing["total_bytes"] == sum(sizes) <= listing["max_total_bytes"]


async def test_files_can_be_attached_only_while_editable(
    api: httpx.AsyncClient, draft: Draft
) -> None:
    kept = (await upload(api, draft, media.png(), content_type="image/png")).json()
    assert (await submit(api, draft.id, draft.token)).status_code == 200

    response = await upload(api, draft, media.png(), content_type="image/png")
    assert response.status_code == 409
    assert response.json()["code"] == "SUBMISSION_NOT_EDITABLE"
    removed = await api.delete(f"{draft.attachments}/{kept['id']}", headers=draft.headers)
    assert removed.status_code == 409
    # Still listed and readable by the applicant.
    listing = (await api.get(draft.attachments, headers=draft.headers)).json()
    assert [item["id"] for item in listing["items"]] == [kept["id"]]


async def test_an_unknown_attachment_id_is_not_found(api: httpx.AsyncClient, draft: Draft) -> None:
    response = await api.get(f"{draft.attachments}/{uuid.uuid4()}/content", headers=draft.headers)
    assert response.status_code == 404
    assert response.json()["code"] == "ATTACHMENT_NOT_FOUND"
