"""Receiving one uploaded file as a stream: multipart/form-data is parsed as it arrives
(python-multipart's streaming parser) and the file's bytes go straight to a temporary
file, counted on the way, so an upload is never held whole in memory and one over the
limit is refused as soon as it passes it."""

from __future__ import annotations

import os
import shutil
import tempfile
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from app.attachments.errors import AttachmentTooLarge, AttachmentUploadInvalid

FILE_PART = "file"
MAX_FILENAME_LENGTH = 100


@dataclass
class ReceivedFile:
    path: Path
    """The bytes as sent, in a private temporary directory."""
    workdir: Path
    """That directory: anything derived from the upload goes here and goes with it."""
    filename: str | None
    size: int = 0


@dataclass
class _PartState:
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    disposition: bytes | None = None
    parts: int = 0
    pending: list[bytes] = field(default_factory=list)
    in_file: bool = False
    done: bool = False


@asynccontextmanager
async def receive_file(
    body: AsyncIterable[bytes], content_type: str | None, *, max_bytes: int
) -> AsyncIterator[ReceivedFile]:
    """The one part named `file` of a multipart body, in a temporary file that is removed
    when the block ends. Refuses any other part, a second file, or more than `max_bytes`."""
    mime, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise AttachmentUploadInvalid()
    workdir = Path(await anyio.to_thread.run_sync(lambda: tempfile.mkdtemp(prefix="upload-")))
    try:
        received = ReceivedFile(path=workdir / "upload", workdir=workdir, filename=None)
        handle: BinaryIO = await anyio.to_thread.run_sync(lambda: received.path.open("xb"))
        try:
            await _stream_into(body, boundary, handle, received, max_bytes)
        finally:
            await anyio.to_thread.run_sync(handle.close)
        yield received
    finally:
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(workdir, ignore_errors=True))


async def _stream_into(
    body: AsyncIterable[bytes],
    boundary: bytes,
    handle: BinaryIO,
    received: ReceivedFile,
    max_bytes: int,
) -> None:
    state = _PartState()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_field += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value += data[start:end]

    def on_header_end() -> None:
        if bytes(state.header_field).lower() == b"content-disposition":
            state.disposition = bytes(state.header_value)
        state.header_field.clear()
        state.header_value.clear()

    def on_headers_finished() -> None:
        state.parts += 1
        disposition, params = parse_options_header(state.disposition)
        is_file = (
            disposition == b"form-data"
            and params.get(b"name") == FILE_PART.encode()
            and b"filename" in params
        )
        if not is_file or state.parts > 1:
            raise AttachmentUploadInvalid()
        received.filename = clean_filename(params[b"filename"].decode("utf-8", "replace"))
        state.in_file = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state.in_file:
            state.pending.append(data[start:end])

    def on_part_end() -> None:
        state.in_file = False
        state.disposition = None

    def on_end() -> None:
        state.done = True

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_end": on_end,
        },
    )
    async for chunk in body:
        try:
            parser.write(chunk)
        except MultipartParseError as exc:
            raise AttachmentUploadInvalid() from exc
        if state.pending:
            data = b"".join(state.pending)
            state.pending.clear()
            received.size += len(data)
            if received.size > max_bytes:
                raise AttachmentTooLarge(max_bytes)
            await anyio.to_thread.run_sync(handle.write, data)
    if not state.done or state.parts != 1:
        raise AttachmentUploadInvalid()
    await anyio.to_thread.run_sync(handle.flush)


def clean_filename(name: str) -> str | None:
    """The last path segment, NFC, without control or separator characters, at most
    MAX_FILENAME_LENGTH characters; None when nothing is left."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        char for char in name if unicodedata.category(char)[0] != "C" and char not in '<>:"|?*'
    ).strip(" .")
    if not kept:
        return None
    stem, dot, extension = kept.rpartition(".")
    if dot and len(extension) <= 10:
        return stem[: MAX_FILENAME_LENGTH - len(extension) - 1] + "." + extension
    return kept[:MAX_FILENAME_LENGTH]


def with_extension(name: str | None, extension: str) -> str:
    """The citizen's name for the file with the extension of what it really is."""
    stem = os.path.splitext(name)[0] if name else ""
    return (stem or "attachment") + extension
