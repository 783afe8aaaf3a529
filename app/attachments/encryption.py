"""Encryption at rest of attachments: AES-256-GCM in chunks, so a file of any size is
encrypted and decrypted as a stream and never held whole in memory.

Layout of a stored object (format 1):

    b"MDA1" | salt (16 bytes) | nonce prefix (7 bytes) | chunk 0 | chunk 1 | ... | last chunk

Each file gets its own key, derived with HKDF-SHA256 from the deployment key
(ATTACHMENT_ENCRYPTION_KEY) and the random salt. Every chunk is CHUNK_SIZE bytes of
plaintext (the last may be shorter, even empty) sealed with its 16-byte tag; its nonce
is the prefix, the chunk's index and a flag saying whether it is the last one (the
STREAM construction), so reordering, dropping or truncating chunks fails to decrypt.
The associated data names the attachment, so an object copied onto another
attachment's key does not decrypt either.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.config import Settings
from app.keys import decode_key

MAGIC = b"MDA1"
CHUNK_SIZE = 64 * 1024
TAG_SIZE = 16
_SALT_SIZE = 16
_PREFIX_SIZE = 7
HEADER_SIZE = len(MAGIC) + _SALT_SIZE + _PREFIX_SIZE
_HKDF_INFO = b"madoguchi/attachments/v1"
_MAX_CHUNKS = 2**32


class AttachmentDecryptionError(Exception):
    """The stored bytes do not decrypt with this key for this attachment: wrong key,
    tampered or truncated object."""


class AttachmentCipher:
    def __init__(self, deployment_key: bytes) -> None:
        if len(deployment_key) != 32:
            raise ValueError("ATTACHMENT_ENCRYPTION_KEY must be 32 bytes (URL-safe base64)")
        self._deployment_key = deployment_key

    def _file_key(self, salt: bytes) -> AESGCM:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_HKDF_INFO)
        return AESGCM(hkdf.derive(self._deployment_key))

    async def encrypt(
        self, plaintext: AsyncIterable[bytes], associated_data: bytes
    ) -> AsyncIterator[bytes]:
        """The stored form of `plaintext`, chunk by chunk."""
        salt, prefix = os.urandom(_SALT_SIZE), os.urandom(_PREFIX_SIZE)
        aead = self._file_key(salt)
        yield MAGIC + salt + prefix
        index = 0
        pending: bytes | None = None
        async for chunk in _rechunk(plaintext, CHUNK_SIZE):
            if pending is not None:
                yield aead.encrypt(_nonce(prefix, index, last=False), pending, associated_data)
                index += 1
            pending = chunk
        yield aead.encrypt(_nonce(prefix, index, last=True), pending or b"", associated_data)

    async def decrypt(
        self, stored: AsyncIterable[bytes], associated_data: bytes
    ) -> AsyncIterator[bytes]:
        """The plaintext of a stored object, chunk by chunk; raises
        AttachmentDecryptionError on the first chunk that does not authenticate."""
        blocks = _rechunk(stored, CHUNK_SIZE + TAG_SIZE, first=HEADER_SIZE)
        header = await anext(blocks, b"")
        if len(header) != HEADER_SIZE or not header.startswith(MAGIC):
            raise AttachmentDecryptionError("not an encrypted attachment")
        salt = header[len(MAGIC) : len(MAGIC) + _SALT_SIZE]
        prefix = header[len(MAGIC) + _SALT_SIZE :]
        aead = self._file_key(salt)
        index = 0
        pending = await anext(blocks, None)
        if pending is None:
            raise AttachmentDecryptionError("the encrypted attachment is truncated")
        while pending is not None:
            following = await anext(blocks, None)
            last = following is None
            try:
                yield aead.decrypt(_nonce(prefix, index, last=last), pending, associated_data)
            except InvalidTag as exc:
                raise AttachmentDecryptionError("an attachment chunk does not decrypt") from exc
            index += 1
            pending = following


def _nonce(prefix: bytes, index: int, *, last: bool) -> bytes:
    if index >= _MAX_CHUNKS:
        raise ValueError("attachment too large for one encrypted stream")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


async def _rechunk(
    source: AsyncIterable[bytes], size: int, *, first: int | None = None
) -> AsyncIterator[bytes]:
    """Blocks of exactly `size` bytes (the first of `first` bytes when given); the last
    block may be shorter. Holds at most one block plus one incoming chunk."""
    buffer = bytearray()
    wanted = first if first is not None else size
    async for chunk in source:
        buffer += chunk
        while len(buffer) >= wanted:
            yield bytes(buffer[:wanted])
            del buffer[:wanted]
            wanted = size
    if buffer:
        yield bytes(buffer)


def cipher_for(settings: Settings) -> AttachmentCipher:
    return _cipher(settings.attachment_encryption_key.get_secret_value())


@lru_cache(maxsize=4)
def _cipher(encoded_key: str) -> AttachmentCipher:
    return AttachmentCipher(decode_key("ATTACHMENT_ENCRYPTION_KEY", encoded_key))
