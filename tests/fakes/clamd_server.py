"""A tiny clamd in-process: speaks the real INSTREAM protocol over TCP or a unix socket
(`zINSTREAM\\0` or `nINSTREAM\\n`, length-prefixed chunks, a zero length to end) and
answers `stream: OK` or `stream: Eicar-Signature FOUND` when the stream holds the EICAR
test string. Records what it was sent, and can refuse streams over a size limit the way
clamd does (`INSTREAM size limit exceeded. ERROR`)."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field
from pathlib import Path

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@dataclass
class FakeClamd:
    stream_max_length: int = 25 * 1024 * 1024
    scanned: list[bytes] = field(default_factory=list)
    server: asyncio.AbstractServer | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            # The first byte says how the command ends: z...\0 or n...\n.
            first = await reader.readexactly(1)
            terminator = b"\0" if first == b"z" else b"\n"
            command = first + await reader.readuntil(terminator)
            if command.strip(b"\0\n") not in (b"zINSTREAM", b"nINSTREAM"):
                writer.write(b"UNKNOWN COMMAND" + terminator)
                return
            received = bytearray()
            while True:
                (length,) = struct.unpack(">I", await reader.readexactly(4))
                if length == 0:
                    break
                received += await reader.readexactly(length)
                if len(received) > self.stream_max_length:
                    writer.write(b"INSTREAM size limit exceeded. ERROR" + terminator)
                    return
            self.scanned.append(bytes(received))
            verdict = b"stream: Eicar-Signature FOUND" if EICAR in received else b"stream: OK"
            writer.write(verdict + terminator)
        finally:
            await writer.drain()
            writer.close()

    async def start_tcp(self, port: int = 0) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        return int(self.server.sockets[0].getsockname()[1])

    async def start_unix(self, path: Path) -> None:
        self.server = await asyncio.start_unix_server(self._handle, str(path))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
