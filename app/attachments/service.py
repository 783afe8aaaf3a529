"""Attachments (添付ファイル): upload by the applicant while the application is editable,
list and remove their own, staff listing and download (audited), the virus-scan
quarantine, and purging with the answers. Never commits.

An upload is taken in two steps around the HTTP stream: `plan_upload` checks the
caller, the application's state and what is left of the limits before a byte is read;
`store_upload` then checks the received file by its content, cleans it, scans it when
scanning is on, stores it encrypted and records it. Limits are checked again under the
application's row lock, so concurrent uploads cannot together pass them.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin import review_service
from app.attachments import content, repository
from app.attachments.encryption import cipher_for
from app.attachments.errors import (
    AttachmentCountExceeded,
    AttachmentFieldInvalid,
    AttachmentInfected,
    AttachmentNotFound,
    AttachmentQuarantined,
    AttachmentTooLarge,
    AttachmentTotalTooLarge,
)
from app.attachments.models import Attachment
from app.attachments.scanning import ScanUnavailable, VirusScanner
from app.attachments.storage import AttachmentStorage
from app.attachments.upload import ReceivedFile, with_extension
from app.audit import service as audit
from app.auth.principals import Caller
from app.auth.staff_service import StaffPrincipal
from app.config import Settings
from app.errors import AppError
from app.forms.attachments import AttachmentFacts
from app.forms.definition import FileField, GroupField, ProcedureDefinition
from app.submissions import service as submissions
from app.submissions.lifecycle import EDITABLE
from app.submissions.repository import Submission

logger = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024
SCAN_BATCH = 50


class ScanStatus(StrEnum):
    NOT_SCANNED = "not_scanned"  # scanning is off (未検査)
    PENDING = "pending"  # quarantined until scanned (検査待ち)
    CLEAN = "clean"  # 検査済み
    INFECTED = "infected"  # ウイルス検出 (bytes removed)


USABLE_SCAN_STATUSES = frozenset({ScanStatus.NOT_SCANNED, ScanStatus.CLEAN})


class AttachmentsNotEditable(submissions.SubmissionNotEditable):
    def __init__(self, status: str) -> None:
        super().__init__(
            f"Files can be attached or removed only while the application is a draft or "
            f"returned for correction (it is '{status}').",
            "添付ファイルの追加・削除は、下書きまたは差戻し中の申請にのみできます"
            f"（現在: {status}）。",
            extra={"current_status": status},
        )


@dataclass(frozen=True)
class UploadPlan:
    """What one upload to this application may be."""

    submission_id: uuid.UUID
    municipality_code: str
    field_key: str | None
    allowed_kinds: frozenset[str]
    max_file_bytes: int
    total_limit: int
    total_remaining: int

    @property
    def max_upload_bytes(self) -> int:
        """Where to stop reading the stream."""
        return min(self.max_file_bytes, self.total_remaining)

    def too_large(self) -> AppError:
        """The refusal for a stream that passed `max_upload_bytes`."""
        if self.total_remaining < self.max_file_bytes:
            return AttachmentTotalTooLarge(self.total_limit)
        return AttachmentTooLarge(self.max_file_bytes)


async def plan_upload(
    session: AsyncSession,
    submission_id: uuid.UUID,
    caller: Caller,
    *,
    field_key: str | None,
    settings: Settings,
) -> UploadPlan:
    """Checks made before the upload is read: the caller owns the application, it is
    editable, and the count and total size leave room for another file."""
    submission = await submissions.get_owned(session, submission_id, caller)
    _require_editable(submission)
    count, total = await repository.usage(session, submission.id)
    _require_room(count, total, 1, settings)
    allowed_kinds, max_file_bytes = frozenset(content.KINDS), settings.attachment_max_file_bytes
    if field_key is not None:
        form = await submissions.pinned_form(session, submission)
        field = _file_field(form.definition, field_key)
        allowed_kinds = frozenset(field.kinds)
        max_file_bytes = min(max_file_bytes, field.max_size_bytes)
    return UploadPlan(
        submission_id=submission.id,
        municipality_code=submission.municipality_code,
        field_key=field_key,
        allowed_kinds=allowed_kinds,
        max_file_bytes=max_file_bytes,
        total_limit=settings.attachment_max_total_bytes,
        total_remaining=settings.attachment_max_total_bytes - total,
    )


async def store_upload(
    session: AsyncSession,
    plan: UploadPlan,
    received: ReceivedFile,
    caller: Caller,
    *,
    storage: AttachmentStorage,
    scanner: VirusScanner | None,
    settings: Settings,
    now: datetime,
) -> Attachment:
    """Check, clean, scan, store encrypted, record. Refusals store nothing."""
    file_type = await anyio.to_thread.run_sync(content.sniff, received.path, plan.allowed_kinds)
    cleaned = await anyio.to_thread.run_sync(
        lambda: content.clean(
            received.path,
            file_type,
            workdir=received.workdir,
            max_image_pixels=settings.attachment_max_image_pixels,
        )
    )
    scan_status, signature, scanned_at = ScanStatus.NOT_SCANNED, None, None
    if scanner is not None:
        try:
            verdict = await scanner.scan(_read_file(cleaned.path))
        except ScanUnavailable as exc:
            logger.warning("virus scan unavailable, upload quarantined: %s", exc)
            scan_status = ScanStatus.PENDING
        else:
            if not verdict.clean:
                logger.warning("virus scan found %s in an upload; refused", verdict.signature)
                raise AttachmentInfected()
            scan_status, scanned_at = ScanStatus.CLEAN, now

    attachment_id = uuid.uuid4()
    storage_key = f"{plan.municipality_code}/{attachment_id.hex}"
    digest = hashlib.sha256()
    size = 0

    async def plaintext() -> AsyncIterator[bytes]:
        nonlocal size
        async for chunk in _read_file(cleaned.path):
            digest.update(chunk)
            size += len(chunk)
            yield chunk

    cipher = cipher_for(settings)
    await storage.write(storage_key, cipher.encrypt(plaintext(), _associated_data(attachment_id)))
    try:
        submission = await submissions.get_owned_for_update(session, plan.submission_id, caller)
        _require_editable(submission)
        count, total = await repository.usage(session, submission.id)
        _require_room(count, total + size, 1, settings)
        attachment = Attachment(
            id=attachment_id,
            submission_id=submission.id,
            municipality_code=submission.municipality_code,
            field_key=plan.field_key,
            filename=with_extension(received.filename, file_type.extension),
            kind=file_type.kind,
            content_type=file_type.content_type,
            size_bytes=size,
            sha256=digest.hexdigest(),
            storage_key=storage_key,
            scan_status=scan_status,
            scan_signature=signature,
            scanned_at=scanned_at,
            created_at=now,
        )
        session.add(attachment)
        await session.flush()
    except BaseException:
        await storage.delete(storage_key)
        raise
    return attachment


@dataclass(frozen=True)
class SubmissionAttachments:
    """The answers' view of one application's attachments (app.forms.attachments'
    AttachmentResolver): what each id is, by its content, so the form checks the kind
    and size its field allows. One found infected is left out; one still quarantined
    counts (staff get it once it is scanned clean)."""

    session: AsyncSession
    submission_id: uuid.UUID

    async def facts(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, AttachmentFacts]:
        rows = await repository.get_many(self.session, self.submission_id, ids)
        return {
            attachment_id: AttachmentFacts(kind=row.kind, size=row.size_bytes)
            for attachment_id, row in rows.items()
            if row.scan_status != ScanStatus.INFECTED
        }


def resolver_for(session: AsyncSession, submission_id: uuid.UUID) -> SubmissionAttachments:
    return SubmissionAttachments(session, submission_id)


async def list_own(
    session: AsyncSession, submission_id: uuid.UUID, caller: Caller
) -> list[Attachment]:
    submission = await submissions.get_owned(session, submission_id, caller)
    return await repository.list_for_submission(session, submission.id)


async def get_own(
    session: AsyncSession, submission_id: uuid.UUID, attachment_id: uuid.UUID, caller: Caller
) -> Attachment:
    submission = await submissions.get_owned(session, submission_id, caller)
    attachment = await repository.get(session, submission.id, attachment_id)
    if attachment is None:
        raise AttachmentNotFound()
    return attachment


async def delete_own(
    session: AsyncSession,
    submission_id: uuid.UUID,
    attachment_id: uuid.UUID,
    caller: Caller,
    *,
    storage: AttachmentStorage,
) -> None:
    """Removes the attachment and its bytes; only while the application is editable."""
    submission = await submissions.get_owned_for_update(session, submission_id, caller)
    attachment = await repository.get(session, submission.id, attachment_id)
    if attachment is None:
        raise AttachmentNotFound()
    _require_editable(submission)
    await session.delete(attachment)
    await session.flush()
    await storage.delete(attachment.storage_key)


async def list_for_staff(
    session: AsyncSession, staff: StaffPrincipal, submission_id: uuid.UUID
) -> list[Attachment]:
    """The attachments of an application this staff member may see (municipality,
    department, submitted at least once)."""
    row = await review_service.get_row(session, staff, submission_id)
    return await repository.list_for_submission(session, row.submission.id)


async def open_for_staff(
    session: AsyncSession,
    staff: StaffPrincipal,
    submission_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> Attachment:
    """An attachment to download; the download is written to the audit log. A file not
    (yet) scanned clean stays closed while scanning is on."""
    row = await review_service.get_row(session, staff, submission_id)
    attachment = await repository.get(session, row.submission.id, attachment_id)
    if attachment is None:
        raise AttachmentNotFound()
    if attachment.scan_status not in USABLE_SCAN_STATUSES:
        raise AttachmentQuarantined(attachment.scan_status)
    await audit.record(
        session,
        staff,
        "attachment.download",
        "attachment",
        attachment.id,
        attachment.municipality_code,
        details={"submission_id": str(attachment.submission_id), "kind": attachment.kind},
    )
    return attachment


def read_plaintext(
    attachment: Attachment, *, storage: AttachmentStorage, settings: Settings
) -> AsyncIterator[bytes]:
    """The attachment's bytes, decrypted as they stream from the store."""
    return cipher_for(settings).decrypt(
        storage.read(attachment.storage_key), _associated_data(attachment.id)
    )


async def rescan_pending(
    session: AsyncSession,
    *,
    storage: AttachmentStorage,
    scanner: VirusScanner,
    settings: Settings,
    now: datetime,
    limit: int = SCAN_BATCH,
) -> dict[str, int]:
    """Scans quarantined attachments again. Clean ones are released; infected ones lose
    their bytes and stay listed as `infected`; those the scanner cannot answer for wait."""
    outcome: dict[str, int] = {ScanStatus.CLEAN: 0, ScanStatus.INFECTED: 0, ScanStatus.PENDING: 0}
    for attachment in await repository.claim_pending_scans(session, limit):
        try:
            verdict = await scanner.scan(
                read_plaintext(attachment, storage=storage, settings=settings)
            )
        except ScanUnavailable:
            outcome[ScanStatus.PENDING] += 1
            continue
        attachment.scanned_at = now
        if verdict.clean:
            attachment.scan_status = ScanStatus.CLEAN
        else:
            attachment.scan_status = ScanStatus.INFECTED
            attachment.scan_signature = (verdict.signature or "")[:200] or None
            await storage.delete(attachment.storage_key)
        outcome[attachment.scan_status] += 1
    await session.flush()
    return outcome


async def purge_for_submission(
    session: AsyncSession,
    submission_id: uuid.UUID,
    *,
    storage: AttachmentStorage,
    dry_run: bool = False,
) -> int:
    """Retention (保存期間): removes an application's attachments, rows and bytes; returns
    how many there were. The rows go first (flushed), then the bytes."""
    if dry_run:
        count, _ = await repository.usage(session, submission_id)
        return count
    keys = await repository.delete_for_submission(session, submission_id)
    await session.flush()
    for key in keys:
        await storage.delete(key)
    return len(keys)


def _file_field(definition: ProcedureDefinition, key: str) -> FileField:
    """The file field `key` of the form (in a step or a repeating group): its kinds and
    size apply to the upload."""
    for step in definition.steps:
        for field in step.fields:
            inner = field.fields if isinstance(field, GroupField) else []
            for candidate in (field, *inner):
                if isinstance(candidate, FileField) and candidate.key == key:
                    return candidate
    raise AttachmentFieldInvalid(
        f"The form has no file field '{key}'.",
        f"この申請書に添付ファイルの項目「{key}」はありません。",
        extra={"field": key},
    )


def _require_editable(submission: Submission) -> None:
    if submission.status not in EDITABLE:
        raise AttachmentsNotEditable(submission.status)


def _require_room(count: int, total: int, adding: int, settings: Settings) -> None:
    if count + adding > settings.attachment_max_count:
        raise AttachmentCountExceeded(settings.attachment_max_count)
    if total > settings.attachment_max_total_bytes:
        raise AttachmentTotalTooLarge(settings.attachment_max_total_bytes)


def _associated_data(attachment_id: uuid.UUID) -> bytes:
    return b"madoguchi/attachment/" + attachment_id.bytes


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as file:
        while chunk := await file.read(READ_CHUNK):
            yield chunk
