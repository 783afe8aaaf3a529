"""What a file is, by its bytes, and making it safe to keep.

The kind comes from the content (`filetype` reads the magic numbers), never from the
name or the Content-Type a browser sent. Only photos (JPEG, PNG, WebP) and PDFs are
taken:
- a photo is decoded and re-encoded by Pillow with its orientation applied, so EXIF
  (GPS position, camera serial), XMP, comments and anything appended after the image
  data are gone;
- a PDF is parsed by pypdf and its whole object tree walked: JavaScript, launch and
  other automatic actions, XFA forms and embedded files are refused, and so is a PDF
  that cannot be parsed or opened without a password. A PDF is kept as sent.

Everything here is blocking (decoding, parsing) and runs in a worker thread.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PasswordType, PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from app.attachments.errors import (
    AttachmentEmpty,
    AttachmentImageInvalid,
    AttachmentImageTooManyPixels,
    AttachmentPdfActiveContent,
    AttachmentPdfEmbeddedFile,
    AttachmentPdfEncrypted,
    AttachmentPdfInvalid,
    AttachmentTypeNotAllowed,
)

Kind = Literal["image", "pdf"]
KINDS: tuple[Kind, ...] = ("image", "pdf")


@dataclass(frozen=True)
class FileType:
    kind: Kind
    content_type: str
    extension: str
    pillow_format: str | None = None


ALLOWED_TYPES = {
    "image/jpeg": FileType("image", "image/jpeg", ".jpg", "JPEG"),
    "image/png": FileType("image", "image/png", ".png", "PNG"),
    "image/webp": FileType("image", "image/webp", ".webp", "WEBP"),
    "application/pdf": FileType("pdf", "application/pdf", ".pdf"),
}

JPEG_QUALITY = 90
MAX_PDF_OBJECTS = 200_000
"""A PDF with more objects than this is refused as unreadable rather than walked."""

# Keys whose presence anywhere in a PDF means it carries something that runs.
_ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/XFA", "/RichMedia"})
# Action types (/S) that run code, start programs or send data on their own.
_ACTIVE_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/ImportData",
        "/SubmitForm",
        "/GoToE",
        "/Rendition",
        "/RichMediaExecute",
    }
)
_EMBEDDED_KEYS = frozenset({"/EmbeddedFile", "/EmbeddedFiles", "/EF"})


@dataclass(frozen=True)
class CleanedFile:
    """A file that passed: its type, and the path of the bytes to store (a new file
    for a re-encoded photo, the upload itself for a PDF)."""

    type: FileType
    path: Path


def sniff(path: Path, allowed_kinds: frozenset[str]) -> FileType:
    """The file's type by its first bytes; refuses anything but the allowed kinds."""
    if path.stat().st_size == 0:
        raise AttachmentEmpty(
            "Choose a file that is not empty.", "空でないファイルを選んでください。"
        )
    guess = filetype.guess(str(path))
    found = ALLOWED_TYPES.get(guess.mime) if guess is not None else None
    if found is None or found.kind not in allowed_kinds:
        raise AttachmentTypeNotAllowed(describe_kinds(allowed_kinds))
    return found


def describe_kinds(kinds: frozenset[str]) -> str:
    names = {"image": "JPEG/PNG/WebP", "pdf": "PDF"}
    return ", ".join(names[kind] for kind in KINDS if kind in kinds)


def clean(path: Path, file_type: FileType, *, workdir: Path, max_image_pixels: int) -> CleanedFile:
    if file_type.kind == "image":
        return CleanedFile(file_type, reencode_image(path, file_type, workdir, max_image_pixels))
    check_pdf(path)
    return CleanedFile(file_type, path)


def reencode_image(path: Path, file_type: FileType, workdir: Path, max_pixels: int) -> Path:
    """A fresh encoding of the picture alone: upright, no metadata but the colour profile."""
    assert file_type.pillow_format is not None
    try:
        with Image.open(path, formats=[file_type.pillow_format]) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise AttachmentImageTooManyPixels(
                    f"A photo may have at most {max_pixels:,} pixels ({width}x{height} sent).",
                    f"写真の画素数は{max_pixels:,}までです（{width}x{height}）。",
                )
            image.load()
            icc_profile = image.info.get("icc_profile")
            upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise AttachmentImageInvalid(
            "The photo cannot be decoded. Take or save it again.",
            "写真を読み込めません。撮影し直すか、保存し直してください。",
        ) from exc
    upright.info = {}
    options: dict[str, Any] = {"icc_profile": icc_profile} if icc_profile else {}
    if file_type.pillow_format == "JPEG":
        if upright.mode not in ("L", "RGB", "CMYK"):
            upright = upright.convert("RGB")
        options.update(quality=JPEG_QUALITY, optimize=True)
    elif file_type.pillow_format == "WEBP":
        options.update(quality=JPEG_QUALITY)
    with tempfile.NamedTemporaryFile(
        dir=workdir, suffix=file_type.extension, delete=False
    ) as output:
        upright.save(output, format=file_type.pillow_format, **options)
    return Path(output.name)


def check_pdf(path: Path) -> None:
    """Refuses a PDF that does not parse, needs a password, runs anything or carries files."""
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise AttachmentPdfEncrypted()
        if len(reader.pages) == 0:
            raise AttachmentPdfInvalid()
        active, embedded = _walk(reader)
    except (AttachmentPdfEncrypted, AttachmentPdfInvalid):
        raise
    except Exception as exc:
        # pypdf raises many kinds of error on a damaged or hostile file (its own,
        # ValueError, KeyError, RecursionError...): any of them means unreadable.
        raise AttachmentPdfInvalid() from exc
    if active:
        raise AttachmentPdfActiveContent()
    if embedded:
        raise AttachmentPdfEmbeddedFile()


def _walk(reader: PdfReader) -> tuple[bool, bool]:
    """Every object reachable from the trailer, each once: (active content, embedded files)."""
    active = embedded = False
    pending: list[Any] = [reader.trailer]
    seen: set[tuple[int, int]] = set()
    visited = 0
    while pending:
        node = pending.pop()
        if isinstance(node, IndirectObject):
            reference = (node.idnum, node.generation)
            if reference in seen:
                continue
            seen.add(reference)
            node = node.get_object()
        visited += 1
        if visited > MAX_PDF_OBJECTS:
            raise AttachmentPdfInvalid()
        if isinstance(node, DictionaryObject):
            for key, value in node.items():
                if key in _ACTIVE_KEYS:
                    active = True
                elif key in _EMBEDDED_KEYS:
                    embedded = True
                elif key == "/S" and isinstance(value, NameObject) and value in _ACTIVE_ACTIONS:
                    active = True
                elif key == "/Type" and value == "/EmbeddedFile":
                    embedded = True
                pending.append(value)
        elif isinstance(node, ArrayObject):
            pending.extend(node)
    return active, embedded
