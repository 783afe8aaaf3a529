"""`file`: attachments (添付ファイル) such as a photo of a broken street light or a 委任状.

Files are uploaded on their own (`POST /api/v1/submissions/{id}/attachments`); the
answer is the list of the attachment ids (UUID strings) in the order the applicant
chose them. The validator checks the shape only (UUIDs, how many); whether each id is
an attachment of this submission, of an allowed kind and size, is asked of whoever
stores attachments through `app.forms.attachments.check_attachments`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from app.forms.fields.base import FieldDefinition, Schema, register_field_type
from app.forms.normalize import normalize_items, normalize_text
from app.forms.validation import pointer

if TYPE_CHECKING:
    from app.forms.attachments import AttachmentFacts
    from app.forms.validation import AnswerChecker

AttachmentKind = Literal["image", "pdf"]
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
"""A canonical attachment id: a UUID in lower-case hex with hyphens."""
DEFAULT_MAX_SIZE_MB = 10
HARD_MAX_SIZE_MB = 50
HARD_MAX_COUNT = 20
MEGABYTE = 1024 * 1024
KIND_LABELS = {"image": ("画像", "an image"), "pdf": ("PDF", "a PDF")}


def canonical_attachment_id(value: str) -> str | None:
    """The canonical form of an attachment id, or None when it is not a UUID."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    canonical = str(parsed)
    # uuid.UUID also reads braces, "urn:uuid:" and hex without hyphens; ids are sent
    # as the API gave them, so only case is forgiven.
    return canonical if canonical == value.lower() else None


@register_field_type
class FileField(FieldDefinition):
    """Attachments: `kinds` allowed (image, pdf), `max_size_mb` per file, `max_count`."""

    type: Literal["file"]
    kinds: list[AttachmentKind] = Field(default=["image", "pdf"], min_length=1)
    max_size_mb: int = Field(default=DEFAULT_MAX_SIZE_MB, ge=1, le=HARD_MAX_SIZE_MB)
    max_count: int = Field(default=1, ge=1, le=HARD_MAX_COUNT)

    comparable = False
    references_attachments = True

    @property
    def max_size_bytes(self) -> int:
        return self.max_size_mb * MEGABYTE

    def normalize(self, value: Any) -> Any:
        """Ids stripped and lower-cased, blanks dropped, repeats removed (first kept)."""
        return normalize_items(value, _attachment_id)

    def check(self, value: Any, checker: AnswerChecker, path: str, *, complete: bool) -> Any:
        if not isinstance(value, list):
            checker.report(
                path,
                "type",
                "添付ファイルはIDのリストで送信してください",
                "Send a list of attachment ids",
            )
            return value
        for index, item in enumerate(value):
            if not isinstance(item, str) or canonical_attachment_id(item) != item:
                checker.report(
                    pointer(path, index),
                    "attachment_id",
                    "添付ファイルのIDが正しくありません。ファイルを添付し直してください",
                    "This is not an attachment id; please attach the file again",
                )
        if len(value) > self.max_count:
            checker.report(
                path,
                "max_items",
                f"添付できるファイルは{self.max_count}件までです",
                f"Attach at most {self.max_count} file(s)",
            )
        return value

    def value_schema(self) -> Schema:
        return {
            "type": "array",
            "items": {"type": "string", "format": "uuid", "pattern": UUID_PATTERN},
            "minItems": 1,
            "maxItems": self.max_count,
            "uniqueItems": True,
            "x-attachment-kinds": list(self.kinds),
            "x-attachment-max-size": self.max_size_bytes,
        }

    def schema_annotations(self) -> Schema:
        return {
            "kinds": list(self.kinds),
            "max_size_mb": self.max_size_mb,
            "max_count": self.max_count,
        }

    def attachment_ids(self, value: Any) -> list[tuple[int, uuid.UUID]]:
        if not isinstance(value, list):
            return []
        return [
            (index, uuid.UUID(item))
            for index, item in enumerate(value)
            if isinstance(item, str) and canonical_attachment_id(item) == item
        ]

    def attachment_problem(self, facts: AttachmentFacts) -> tuple[str, str, str] | None:
        if facts.kind not in self.kinds:
            allowed_ja = "・".join(KIND_LABELS[kind][0] for kind in self.kinds)
            allowed_en = " or ".join(KIND_LABELS[kind][1] for kind in self.kinds)
            return (
                "attachment_kind",
                f"この項目に添付できるのは{allowed_ja}だけです",
                f"Attach {allowed_en} here",
            )
        if facts.size > self.max_size_bytes:
            return (
                "attachment_too_large",
                f"1ファイル{self.max_size_mb}MBまで添付できます",
                f"Each file may be at most {self.max_size_mb} MB",
            )
        return None


def _attachment_id(item: Any) -> Any:
    """An id as text, lower-cased (UUIDs compare case-insensitively)."""
    text = normalize_text(item)
    return text.lower() if isinstance(text, str) else text
