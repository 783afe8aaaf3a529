"""The virus-scan hook (ウイルス検査): a scanner takes a file's bytes and answers clean
or infected; when it cannot answer, the upload stays quarantined and is scanned again
later (`python -m app.attachments scan`).

`ClamdScanner` speaks clamd's INSTREAM protocol over TCP or a unix socket:
`zINSTREAM\\0`, then chunks each prefixed with their length as a 4-byte big-endian
integer, then a zero length; clamd answers one NUL-terminated line,
`stream: OK` or `stream: <signature> FOUND` (or `... ERROR`).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterable
from dataclasses import dataclass
from typing import Protocol

from app.config import Settings

INSTREAM_CHUNK = 64 * 1024
_MAX_REPLY = 4096


@dataclass(frozen=True)
class ScanVerdict:
    clean: bool
    signature: str | None = None
    """The malware's name as clamd reports it, when found (never personal data)."""


class ScanUnavailable(Exception):
    """The scanner did not answer (down, timed out, or refused the stream)."""


class VirusScanner(Protocol):
    async def scan(self, chunks: AsyncIterable[bytes]) -> ScanVerdict: ...


class ClamdScanner:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 3310,
        socket_path: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.socket_path = socket_path
        self.timeout = timeout

    async def scan(self, chunks: AsyncIterable[bytes]) -> ScanVerdict:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._scan(chunks)
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            raise ScanUnavailable(f"clamd did not answer: {type(exc).__name__}") from exc

    async def _scan(self, chunks: AsyncIterable[bytes]) -> ScanVerdict:
        if self.socket_path is not None:
            reader, writer = await asyncio.open_unix_connection(self.socket_path)
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(b"zINSTREAM\0")
            async for chunk in chunks:
                for start in range(0, len(chunk), INSTREAM_CHUNK):
                    part = chunk[start : start + INSTREAM_CHUNK]
                    writer.write(struct.pack(">I", len(part)) + part)
                    await writer.drain()
            writer.write(struct.pack(">I", 0))
            await writer.drain()
            reply = await reader.readuntil(b"\0")
        finally:
            writer.close()
            await writer.wait_closed()
        return parse_reply(reply[:_MAX_REPLY].rstrip(b"\0").decode("utf-8", "replace"))


def parse_reply(line: str) -> ScanVerdict:
    """`stream: OK` -> clean; `stream: <name> FOUND` -> infected; anything else (an
    ERROR such as `INSTREAM size limit exceeded`) -> the scanner could not answer."""
    result = line.split(":", 1)[1].strip() if ":" in line else line.strip()
    if result == "OK":
        return ScanVerdict(clean=True)
    if result.endswith(" FOUND"):
        return ScanVerdict(clean=False, signature=result.removesuffix(" FOUND").strip())
    raise ScanUnavailable(f"clamd answered: {result[:200]}")


def scanner_for(settings: Settings) -> VirusScanner | None:
    """The configured scanner, or None when ATTACHMENT_VIRUS_SCAN is off."""
    if not settings.attachment_virus_scan:
        return None
    return ClamdScanner(
        host=settings.clamd_host,
        port=settings.clamd_port,
        socket_path=str(settings.clamd_socket) if settings.clamd_socket else None,
        timeout=settings.clamd_timeout_seconds,
    )
