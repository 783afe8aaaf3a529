"""The chunked AES-GCM stream: round trips of any size, and every kind of tampering
(a flipped bit, a dropped last chunk, swapped chunks, another attachment's id, another
key) fails instead of returning bytes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from pydantic import ValidationError

from app.attachments.encryption import (
    CHUNK_SIZE,
    HEADER_SIZE,
    TAG_SIZE,
    AttachmentCipher,
    AttachmentDecryptionError,
)
from app.config import Settings

KEY = bytes(range(32))
AD = b"attachment-1"


async def _chunks(data: bytes, size: int = 10_000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def _encrypt(data: bytes, cipher: AttachmentCipher | None = None) -> bytes:
    return await _collect((cipher or AttachmentCipher(KEY)).encrypt(_chunks(data), AD))


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE])
async def test_round_trip(size: int) -> None:
    data = os.urandom(size)
    stored = await _encrypt(data)
    chunks = max(1, -(-size // CHUNK_SIZE))
    assert len(stored) == HEADER_SIZE + size + chunks * TAG_SIZE
    assert await _collect(AttachmentCipher(KEY).decrypt(_chunks(stored, 777), AD)) == data


async def test_the_same_file_encrypts_differently_each_time() -> None:
    data = b"same" * 1000
    assert await _encrypt(data) != await _encrypt(data)


async def test_tampering_is_detected() -> None:
    data = os.urandom(2 * CHUNK_SIZE + 100)
    stored = await _encrypt(data)
    block = CHUNK_SIZE + TAG_SIZE
    first = stored[HEADER_SIZE : HEADER_SIZE + block]
    second = stored[HEADER_SIZE + block : HEADER_SIZE + 2 * block]
    flipped = bytearray(stored)
    flipped[HEADER_SIZE + 5] ^= 1
    candidates = {
        "bit flipped": bytes(flipped),
        "last chunk dropped": stored[: HEADER_SIZE + 2 * block],
        "chunks swapped": stored[:HEADER_SIZE] + second + first + stored[HEADER_SIZE + 2 * block :],
        "header only": stored[:HEADER_SIZE],
        "not encrypted": data,
    }
    for name, candidate in candidates.items():
        with pytest.raises(AttachmentDecryptionError):
            await _collect(AttachmentCipher(KEY).decrypt(_chunks(candidate), AD))
        assert name
    with pytest.raises(AttachmentDecryptionError):
        await _collect(AttachmentCipher(KEY).decrypt(_chunks(stored), b"attachment-2"))
    with pytest.raises(AttachmentDecryptionError):
        await _collect(AttachmentCipher(bytes(32)).decrypt(_chunks(stored), AD))


def test_production_refuses_the_development_key() -> None:
    production = {
        "environment": "production",
        "database_url": "postgresql+asyncpg://u@db/madoguchi",
        "secret_key": "x" * 40,
        "my_number_encryption_key": "cHJvZHVjdGlvbi1rZXktZm9yLXRlc3RzLW9ubHktMzI=",
    }
    with pytest.raises(ValidationError, match="ATTACHMENT_ENCRYPTION_KEY must be set"):
        Settings(**production)  # type: ignore[arg-type]
