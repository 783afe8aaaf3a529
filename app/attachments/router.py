"""Attachments over HTTP: the applicant uploads, lists, opens and removes the files of
their application; staff of the municipality list and download them (each download
audited).

The upload body is multipart/form-data with one part named `file`. It is parsed as it
streams in (app.attachments.upload), under its own body cap (UPLOAD_BODY_LIMIT, given
to the request middleware), never buffered whole.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from app.attachments import errors, service
from app.attachments.models import Attachment
from app.attachments.scanning import VirusScanner, scanner_for
from app.attachments.schemas import AttachmentList, AttachmentRead
from app.attachments.storage import AttachmentStorage, StoredObjectMissing, storage_for
from app.attachments.upload import receive_file
from app.auth.principals import AuthenticatedCaller, AuthenticationRequired
from app.auth.staff_access import ACCESS_ERRORS, ReviewStaff
from app.config import Settings
from app.dependencies import NO_STORE, AppSettings, DbSession, Now
from app.errors import AppError, PayloadTooLarge, problem_responses
from app.middleware import BodyLimit
from app.submissions.service import SubmissionNotFound

router = APIRouter(tags=["attachments"])
admin_router = APIRouter(prefix="/admin", tags=["attachments", "review"])

MULTIPART_OVERHEAD = 64 * 1024
"""Room in the body cap for the multipart boundary and part headers around the file."""
UPLOAD_PATH = re.compile(r"/api/v1/submissions/[^/]+/attachments")


def upload_body_limit(settings: Settings) -> BodyLimit:
    """The upload route's own body cap: one file of the largest allowed size."""
    return BodyLimit("POST", UPLOAD_PATH, settings.attachment_max_file_bytes + MULTIPART_OVERHEAD)


def get_storage(settings: AppSettings) -> AttachmentStorage:
    return storage_for(settings)


def get_scanner(settings: AppSettings) -> VirusScanner | None:
    return scanner_for(settings)


Storage = Annotated[AttachmentStorage, Depends(get_storage)]
Scanner = Annotated[VirusScanner | None, Depends(get_scanner)]

_CONTENT_REFUSALS = (
    errors.AttachmentUploadInvalid,
    errors.AttachmentTypeNotAllowed,
    errors.AttachmentEmpty,
    errors.AttachmentTooLarge,
    errors.AttachmentTotalTooLarge,
    errors.AttachmentCountExceeded,
    errors.AttachmentImageInvalid,
    errors.AttachmentImageTooManyPixels,
    errors.AttachmentPdfActiveContent,
    errors.AttachmentPdfEmbeddedFile,
    errors.AttachmentPdfEncrypted,
    errors.AttachmentPdfInvalid,
    errors.AttachmentInfected,
    errors.AttachmentFieldInvalid,
)
_BINARY_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file's bytes",
        "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/webp": {"schema": {"type": "string", "format": "binary"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _download_responses(*access_errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """A file's bytes, or why it cannot be had (a quarantined file: 409)."""
    return {
        **_BINARY_RESPONSE,
        **problem_responses(
            *access_errors,
            SubmissionNotFound,
            errors.AttachmentNotFound,
            errors.AttachmentQuarantined,
        ),
    }


_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def _listing(
    attachments: list[Attachment], settings: Settings, response: Response
) -> AttachmentList:
    """The files with the limits that apply to the application; never cached."""
    response.headers.update(NO_STORE)
    return AttachmentList(
        items=[AttachmentRead.model_validate(item) for item in attachments],
        total_bytes=sum(item.size_bytes for item in attachments),
        max_count=settings.attachment_max_count,
        max_file_bytes=settings.attachment_max_file_bytes,
        max_total_bytes=settings.attachment_max_total_bytes,
    )


@router.post(
    "/submissions/{submission_id}/attachments",
    status_code=201,
    response_model=AttachmentRead,
    openapi_extra=_UPLOAD_BODY,
    responses=problem_responses(
        AuthenticationRequired,
        SubmissionNotFound,
        service.AttachmentsNotEditable,
        PayloadTooLarge,
        *_CONTENT_REFUSALS,
    ),
)
async def upload_attachment(
    submission_id: uuid.UUID,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
    storage: Storage,
    scanner: Scanner,
    now: Now,
    field: Annotated[
        str | None,
        Query(max_length=64, description="The file field this is for (its rules apply)"),
    ] = None,
) -> JSONResponse:
    """Attach a photo (JPEG, PNG, WebP) or a PDF to an application that is a draft or
    returned for correction. The content decides the kind; photos come back re-encoded
    without EXIF/GPS. Put the returned `id` in the answer of the file field."""
    plan = await service.plan_upload(
        session, submission_id, caller, field_key=field, settings=settings
    )
    try:
        async with receive_file(
            request.stream(), request.headers.get("content-type"), max_bytes=plan.max_upload_bytes
        ) as received:
            attachment = await service.store_upload(
                session,
                plan,
                received,
                caller,
                storage=storage,
                scanner=scanner,
                settings=settings,
                now=now,
            )
    except errors.AttachmentTooLarge as exc:
        raise plan.too_large() from exc
    body = AttachmentRead.model_validate(attachment).model_dump(mode="json")
    return JSONResponse(
        body,
        status_code=201,
        headers={
            **NO_STORE,
            "Location": f"/api/v1/submissions/{submission_id}/attachments/{attachment.id}",
        },
    )


@router.get(
    "/submissions/{submission_id}/attachments",
    response_model=AttachmentList,
    responses=problem_responses(AuthenticationRequired, SubmissionNotFound),
)
async def list_attachments(
    submission_id: uuid.UUID,
    session: DbSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
    response: Response,
) -> AttachmentList:
    """The application's attachments, with the limits that apply to it."""
    attachments = await service.list_own(session, submission_id, caller)
    return _listing(attachments, settings, response)


@router.get(
    "/submissions/{submission_id}/attachments/{attachment_id}/content",
    response_class=StreamingResponse,
    responses=_download_responses(AuthenticationRequired),
)
async def download_own_attachment(
    submission_id: uuid.UUID,
    attachment_id: uuid.UUID,
    session: DbSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
    storage: Storage,
) -> StreamingResponse:
    """The applicant's own file, e.g. for its thumbnail, once it passed the virus check."""
    attachment = await service.get_own(session, submission_id, attachment_id, caller)
    if attachment.scan_status not in service.USABLE_SCAN_STATUSES:
        raise errors.AttachmentQuarantined(attachment.scan_status)
    return await _file_response(attachment, storage, settings)


@router.delete(
    "/submissions/{submission_id}/attachments/{attachment_id}",
    status_code=204,
    responses=problem_responses(
        AuthenticationRequired,
        SubmissionNotFound,
        errors.AttachmentNotFound,
        service.AttachmentsNotEditable,
    ),
)
async def delete_attachment(
    submission_id: uuid.UUID,
    attachment_id: uuid.UUID,
    session: DbSession,
    caller: AuthenticatedCaller,
    storage: Storage,
) -> Response:
    """Remove a file (and its bytes) while the application is a draft or returned."""
    await service.delete_own(session, submission_id, attachment_id, caller, storage=storage)
    return Response(status_code=204, headers=NO_STORE)


@admin_router.get(
    "/submissions/{submission_id}/attachments",
    response_model=AttachmentList,
    responses=problem_responses(*ACCESS_ERRORS, SubmissionNotFound),
)
async def list_attachments_for_staff(
    staff: ReviewStaff,
    submission_id: uuid.UUID,
    session: DbSession,
    settings: AppSettings,
    response: Response,
) -> AttachmentList:
    """The attachments of an application of your municipality (reviewers: department)."""
    attachments = await service.list_for_staff(session, staff, submission_id)
    return _listing(attachments, settings, response)


@admin_router.get(
    "/submissions/{submission_id}/attachments/{attachment_id}/content",
    response_class=StreamingResponse,
    responses=_download_responses(*ACCESS_ERRORS),
)
async def download_attachment_for_staff(
    staff: ReviewStaff,
    submission_id: uuid.UUID,
    attachment_id: uuid.UUID,
    session: DbSession,
    settings: AppSettings,
    storage: Storage,
) -> StreamingResponse:
    """Download one attachment (written to the audit log). Files still quarantined by
    the virus check are refused with 409."""
    attachment = await service.open_for_staff(session, staff, submission_id, attachment_id)
    return await _file_response(attachment, storage, settings)


async def _file_response(
    attachment: Attachment, storage: AttachmentStorage, settings: Settings
) -> StreamingResponse:
    chunks = service.read_plaintext(attachment, storage=storage, settings=settings)
    try:
        # The first chunk is read before answering, so a missing object is a clean 404.
        first = await anext(chunks, b"")
    except StoredObjectMissing as exc:
        raise errors.AttachmentNotFound() from exc

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    return StreamingResponse(
        body(),
        media_type=attachment.content_type,
        headers={
            **NO_STORE,
            "Content-Length": str(attachment.size_bytes),
            "Content-Disposition": _disposition(attachment),
        },
    )


def _disposition(attachment: Attachment) -> str:
    name = attachment.filename or "attachment"
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
