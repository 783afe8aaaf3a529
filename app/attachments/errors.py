"""Why an attachment is refused: one error type, one stable code, per reason, with the
Japanese text a citizen reads next to the field and its English counterpart."""

from __future__ import annotations

from app.errors import AppError, Conflict, NotFound, ValidationFailed


class AttachmentNotFound(NotFound):
    code = "ATTACHMENT_NOT_FOUND"
    title_en = "Attachment not found"
    title_ja = "添付ファイルが見つかりません"

    def __init__(self) -> None:
        super().__init__(
            "No attachment with this id exists for these credentials.",
            "この添付ファイルは存在しないか、アクセスする権限がありません。",
        )


class AttachmentUploadInvalid(AppError):
    status = 400
    code = "ATTACHMENT_UPLOAD_INVALID"
    title_en = "Send one file as multipart/form-data in the part `file`"
    title_ja = "ファイルを1つ、multipart/form-data の「file」として送信してください"


class AttachmentTypeNotAllowed(AppError):
    status = 415
    code = "ATTACHMENT_TYPE_NOT_ALLOWED"
    title_en = "This kind of file cannot be attached"
    title_ja = "この種類のファイルは添付できません"

    def __init__(self, allowed: str) -> None:
        super().__init__(
            f"This file cannot be attached here; allowed: {allowed}. "
            "The file's content decides its kind, not its name.",
            f"このファイルは添付できません。添付できる種類: {allowed}。"
            "ファイルの種類は名前ではなく中身で判定します。",
        )


class AttachmentEmpty(ValidationFailed):
    code = "ATTACHMENT_EMPTY"
    title_en = "The file is empty"
    title_ja = "ファイルが空です"


class AttachmentTooLarge(AppError):
    status = 413
    code = "ATTACHMENT_TOO_LARGE"
    title_en = "The file is too large"
    title_ja = "ファイルが大きすぎます"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"A file may be at most {_megabytes(limit)} MB.",
            f"1つのファイルは{_megabytes(limit)}MBまでです。",
            extra={"limit_bytes": limit},
        )


class AttachmentTotalTooLarge(AppError):
    status = 413
    code = "ATTACHMENT_TOTAL_TOO_LARGE"
    title_en = "The attachments of this application are too large together"
    title_ja = "添付ファイルの合計サイズが上限を超えます"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"All attachments of one application may be at most {_megabytes(limit)} MB.",
            f"1件の申請に添付できるファイルは合計{_megabytes(limit)}MBまでです。",
            extra={"limit_bytes": limit},
        )


class AttachmentCountExceeded(Conflict):
    code = "ATTACHMENT_COUNT_EXCEEDED"
    title_en = "No more files can be attached"
    title_ja = "これ以上ファイルを添付できません"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"An application may have at most {limit} attachments; remove one first.",
            f"1件の申請に添付できるファイルは{limit}個までです。先に不要なファイルを削除してください。",
            extra={"limit": limit},
        )


class AttachmentImageInvalid(ValidationFailed):
    code = "ATTACHMENT_IMAGE_INVALID"
    title_en = "The image cannot be read"
    title_ja = "画像を読み込めません"


class AttachmentImageTooManyPixels(ValidationFailed):
    code = "ATTACHMENT_IMAGE_TOO_MANY_PIXELS"
    title_en = "The image has too many pixels"
    title_ja = "画像の画素数が多すぎます"


class AttachmentPdfActiveContent(ValidationFailed):
    code = "ATTACHMENT_PDF_ACTIVE_CONTENT"
    title_en = "The PDF contains scripts or actions"
    title_ja = "PDFにスクリプトまたは自動実行の動作が含まれています"

    def __init__(self) -> None:
        super().__init__(
            "PDFs with JavaScript, launch or other automatic actions cannot be attached. "
            "Print it to a new PDF, or attach a photo of the document.",
            "JavaScriptや外部プログラムの起動などを含むPDFは添付できません。"
            "PDFとして印刷し直すか、書類の写真を添付してください。",
        )


class AttachmentPdfEmbeddedFile(ValidationFailed):
    code = "ATTACHMENT_PDF_EMBEDDED_FILE"
    title_en = "The PDF contains embedded files"
    title_ja = "PDFにファイルが埋め込まれています"

    def __init__(self) -> None:
        super().__init__(
            "PDFs carrying other files cannot be attached; attach each document itself.",
            "ほかのファイルを埋め込んだPDFは添付できません。書類そのものを添付してください。",
        )


class AttachmentPdfEncrypted(ValidationFailed):
    code = "ATTACHMENT_PDF_ENCRYPTED"
    title_en = "The PDF is password-protected"
    title_ja = "PDFにパスワードが設定されています"

    def __init__(self) -> None:
        super().__init__(
            "Remove the password from the PDF, then attach it again.",
            "PDFのパスワードを解除してから、もう一度添付してください。",
        )


class AttachmentPdfInvalid(ValidationFailed):
    code = "ATTACHMENT_PDF_INVALID"
    title_en = "The PDF cannot be read"
    title_ja = "PDFを読み込めません"

    def __init__(self) -> None:
        super().__init__(
            "The file starts like a PDF but cannot be read as one. Save it again as PDF.",
            "PDFとして読み込めないファイルです。PDFとして保存し直してください。",
        )


class AttachmentInfected(ValidationFailed):
    code = "ATTACHMENT_INFECTED"
    title_en = "The virus check found malware in the file"
    title_ja = "ウイルス検査で不正なプログラムが見つかりました"

    def __init__(self) -> None:
        super().__init__(
            "The file was not stored. Check your device with anti-virus software.",
            "ファイルは保存されていません。お使いの機器をウイルス対策ソフトで確認してください。",
        )


class AttachmentFieldInvalid(ValidationFailed):
    code = "ATTACHMENT_FIELD_INVALID"
    title_en = "There is no file field of this name"
    title_ja = "指定された添付ファイルの項目はありません"


class AttachmentQuarantined(Conflict):
    code = "ATTACHMENT_QUARANTINED"
    title_en = "The attachment has not passed the virus check"
    title_ja = "この添付ファイルはウイルス検査を通過していません"

    def __init__(self, scan_status: str) -> None:
        super().__init__(
            f"The attachment's virus check is '{scan_status}'; it cannot be opened yet.",
            f"ウイルス検査の状態が「{scan_status}」のため、まだ開けません。",
            extra={"scan_status": scan_status},
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"
