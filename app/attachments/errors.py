"""Why an attachment is refused: one error type, one stable code, per reason, with the
Japanese text a citizen reads next to the field and its English counterpart."""

from __future__ import annotations

from app.errors import AppError, Conflict, NotFound, ValidationFailed


class AttachmentNotFound(NotFound, code="ATTACHMENT_NOT_FOUND"): ...


class AttachmentUploadInvalid(AppError, code="ATTACHMENT_UPLOAD_INVALID"): ...


class AttachmentTypeNotAllowed(AppError, code="ATTACHMENT_TYPE_NOT_ALLOWED", status=415):
    def __init__(self, allowed: str) -> None:
        super().__init__(
            f"This file cannot be attached here; allowed: {allowed}. "
            "The file's content decides its kind, not its name.",
            f"このファイルは添付できません。添付できる種類: {allowed}。"
            "ファイルの種類は名前ではなく中身で判定します。",
        )


class AttachmentEmpty(ValidationFailed, code="ATTACHMENT_EMPTY"): ...


class AttachmentTooLarge(AppError, code="ATTACHMENT_TOO_LARGE", status=413):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"A file may be at most {_megabytes(limit)} MB.",
            f"1つのファイルは{_megabytes(limit)}MBまでです。",
            extra={"limit_bytes": limit},
        )


class AttachmentTotalTooLarge(AppError, code="ATTACHMENT_TOTAL_TOO_LARGE", status=413):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"All attachments of one application may be at most {_megabytes(limit)} MB.",
            f"1件の申請に添付できるファイルは合計{_megabytes(limit)}MBまでです。",
            extra={"limit_bytes": limit},
        )


class AttachmentCountExceeded(Conflict, code="ATTACHMENT_COUNT_EXCEEDED"):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"An application may have at most {limit} attachments; remove one first.",
            f"1件の申請に添付できるファイルは{limit}個までです。先に不要なファイルを削除してください。",
            extra={"limit": limit},
        )


class AttachmentImageInvalid(ValidationFailed, code="ATTACHMENT_IMAGE_INVALID"): ...


class AttachmentImageTooManyPixels(ValidationFailed, code="ATTACHMENT_IMAGE_TOO_MANY_PIXELS"): ...


class AttachmentPdfActiveContent(ValidationFailed, code="ATTACHMENT_PDF_ACTIVE_CONTENT"): ...


class AttachmentPdfEmbeddedFile(ValidationFailed, code="ATTACHMENT_PDF_EMBEDDED_FILE"): ...


class AttachmentPdfEncrypted(ValidationFailed, code="ATTACHMENT_PDF_ENCRYPTED"): ...


class AttachmentPdfInvalid(ValidationFailed, code="ATTACHMENT_PDF_INVALID"): ...


class AttachmentInfected(ValidationFailed, code="ATTACHMENT_INFECTED"): ...


class AttachmentFieldInvalid(ValidationFailed, code="ATTACHMENT_FIELD_INVALID"): ...


class AttachmentQuarantined(Conflict, code="ATTACHMENT_QUARANTINED"):
    def __init__(self, scan_status: str) -> None:
        super().__init__(
            f"The attachment's virus check is '{scan_status}'; it cannot be opened yet.",
            f"ウイルス検査の状態が「{scan_status}」のため、まだ開けません。",
            extra={"scan_status": scan_status},
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"
