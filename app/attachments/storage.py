"""Where attachment bytes live: one interface, two stores.

`LocalStorage` keeps objects as files under ATTACHMENT_DIR (development, one host);
`S3Storage` keeps them in any S3-compatible bucket (production, any number of hosts).
Both take and give streams of chunks, so an object is never held whole in memory.
They store what they are given: encryption happens before (app.attachments.encryption).
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import anyio
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from app.config import Settings

_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9/_-]{0,200}$")
READ_CHUNK = 64 * 1024
S3_PART_SIZE = 8 * 1024 * 1024
"""Parts of a multipart upload (S3's minimum is 5 MiB, except for the last part)."""


class StoredObjectMissing(Exception):
    """No object under this key."""


class AttachmentStorage(Protocol):
    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Store the chunks under `key`, replacing nothing (keys are fresh UUIDs);
        returns how many bytes were stored. Nothing is left behind on failure."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in chunks; StoredObjectMissing when there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...


def _checked(key: str) -> str:
    if not _KEY_PATTERN.match(key) or ".." in key:
        raise ValueError("invalid storage key")
    return key


class LocalStorage:
    """Files under one directory, written to a temporary name and renamed into place,
    so a reader never sees half an object."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        target = self._path(key)
        await anyio.Path(target.parent).mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
        written = 0
        try:
            async with await anyio.open_file(partial, "xb") as file:
                async for chunk in chunks:
                    await file.write(chunk)
                    written += len(chunk)
                await file.flush()
                await anyio.to_thread.run_sync(os.fsync, file.wrapped.fileno())
            await anyio.Path(partial).rename(target)
        except BaseException:
            await anyio.Path(partial).unlink(missing_ok=True)
            raise
        return written

    async def read(self, key: str) -> AsyncIterator[bytes]:
        try:
            file = await anyio.open_file(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise StoredObjectMissing(key) from exc
        async with file:
            while chunk := await file.read(READ_CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        await anyio.Path(self._path(key)).unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await anyio.Path(self._path(key)).is_file()


class S3Storage:
    """Objects in an S3-compatible bucket through boto3 (its calls run in threads).
    Large objects go up as a multipart upload of S3_PART_SIZE parts, aborted on failure."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _key(self, key: str) -> str:
        return self.prefix + _checked(key)

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        object_key = self._key(key)
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        written = 0
        try:
            async for chunk in chunks:
                buffer += chunk
                written += len(chunk)
                if len(buffer) >= S3_PART_SIZE:
                    if upload_id is None:
                        created = await asyncio.to_thread(
                            self.client.create_multipart_upload,
                            Bucket=self.bucket,
                            Key=object_key,
                        )
                        upload_id = created["UploadId"]
                    parts.append(await self._part(object_key, upload_id, len(parts) + 1, buffer))
                    buffer = bytearray()
            if upload_id is None:
                await asyncio.to_thread(
                    self.client.put_object, Bucket=self.bucket, Key=object_key, Body=bytes(buffer)
                )
                return written
            if buffer:
                parts.append(await self._part(object_key, upload_id, len(parts) + 1, buffer))
            await asyncio.to_thread(
                self.client.complete_multipart_upload,
                Bucket=self.bucket,
                Key=object_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            if upload_id is not None:
                await asyncio.to_thread(
                    self.client.abort_multipart_upload,
                    Bucket=self.bucket,
                    Key=object_key,
                    UploadId=upload_id,
                )
            raise
        return written

    async def _part(
        self, object_key: str, upload_id: str, number: int, body: bytearray
    ) -> dict[str, Any]:
        uploaded = await asyncio.to_thread(
            self.client.upload_part,
            Bucket=self.bucket,
            Key=object_key,
            UploadId=upload_id,
            PartNumber=number,
            Body=bytes(body),
        )
        return {"PartNumber": number, "ETag": uploaded["ETag"]}

    async def read(self, key: str) -> AsyncIterator[bytes]:
        try:
            response = await asyncio.to_thread(
                self.client.get_object, Bucket=self.bucket, Key=self._key(key)
            )
        except ClientError as exc:
            if _is_missing(exc):
                raise StoredObjectMissing(key) from exc
            raise
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, READ_CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise
        return True


def _is_missing(error: ClientError) -> bool:
    code = str(error.response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}


def storage_for(settings: Settings) -> AttachmentStorage:
    """The store the settings name: S3 when ATTACHMENT_S3_BUCKET is set, else the
    directory ATTACHMENT_DIR."""
    if settings.attachment_s3_bucket:
        secret = settings.attachment_s3_secret_access_key
        return _s3_storage(
            settings.attachment_s3_bucket,
            settings.attachment_s3_endpoint_url,
            settings.attachment_s3_region,
            settings.attachment_s3_access_key_id,
            secret.get_secret_value() if secret else None,
            settings.attachment_s3_prefix,
        )
    return LocalStorage(settings.attachment_dir)


@lru_cache(maxsize=4)
def _s3_storage(
    bucket: str,
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    prefix: str,
) -> S3Storage:
    """One client per configuration: a boto3 client is costly to make and thread-safe."""
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}),
    )
    return S3Storage(client, bucket, prefix)
