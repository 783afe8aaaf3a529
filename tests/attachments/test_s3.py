"""The S3-compatible store against moto's server mode (a real S3 HTTP API on 127.0.0.1):
the same upload/download/delete flow as on disk, multipart uploads of large objects,
and the retention purge removing the objects."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.attachments.storage import S3_PART_SIZE, S3Storage, StoredObjectMissing, storage_for
from app.config import Settings
from app.db import utcnow
from app.retention import service as retention
from tests.attachments import media
from tests.attachments.conftest import Draft, upload
from tests.submissions.helpers import submit

BUCKET = "madoguchi-attachments"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_client(s3_endpoint: str) -> Iterator[Any]:
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="ap-northeast-1", **CREDENTIALS
    )
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
    )
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def settings(settings: Settings, s3_endpoint: str, s3_client: Any) -> Settings:
    return Settings(
        **{
            **settings.model_dump(),
            "attachment_s3_bucket": BUCKET,
            "attachment_s3_endpoint_url": s3_endpoint,
            "attachment_s3_region": "ap-northeast-1",
            "attachment_s3_access_key_id": CREDENTIALS["aws_access_key_id"],
            "attachment_s3_secret_access_key": CREDENTIALS["aws_secret_access_key"],
            "attachment_s3_prefix": "tenant-a/",
        }
    )


def _keys(client: Any) -> list[str]:
    return [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


async def _pieces(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_upload_download_delete_through_s3(
    api: httpx.AsyncClient, draft: Draft, settings: Settings, s3_client: Any
) -> None:
    assert isinstance(storage_for(settings), S3Storage)
    pdf = media.plain_pdf()
    uploaded = await upload(api, draft, pdf, filename="a.pdf", content_type="application/pdf")
    assert uploaded.status_code == 201, uploaded.text
    [key] = _keys(s3_client)
    assert key.startswith("tenant-a/202193/")
    stored = s3_client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert stored.startswith(b"MDA1") and b"%PDF" not in stored

    url = f"{draft.attachments}/{uploaded.json()['id']}"
    content = await api.get(f"{url}/content", headers=draft.headers)
    assert content.status_code == 200
    assert content.content == pdf

    assert (await api.delete(url, headers=draft.headers)).status_code == 204
    assert _keys(s3_client) == []


async def test_large_objects_go_up_in_parts(settings: Settings, s3_client: Any) -> None:
    storage = storage_for(settings)
    data = os.urandom(2 * S3_PART_SIZE + 12345)

    written = await storage.write("202193/large", _pieces(data))

    assert written == len(data)
    head = s3_client.head_object(Bucket=BUCKET, Key="tenant-a/202193/large")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload of three parts
    assert b"".join([chunk async for chunk in storage.read("202193/large")]) == data
    assert await storage.exists("202193/large")
    await storage.delete("202193/large")
    assert not await storage.exists("202193/large")
    with pytest.raises(StoredObjectMissing):
        async for _ in storage.read("202193/large"):
            pass


async def test_a_failed_stream_leaves_no_object_or_pending_upload(
    settings: Settings, s3_client: Any
) -> None:
    storage = storage_for(settings)

    async def failing() -> AsyncIterator[bytes]:
        yield os.urandom(S3_PART_SIZE + 1)
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        await storage.write("202193/broken", failing())
    assert _keys(s3_client) == []
    assert s3_client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


async def test_retention_purge_removes_the_objects(
    api: httpx.AsyncClient,
    draft: Draft,
    settings: Settings,
    s3_client: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    for content in (media.jpeg_with_gps(), media.plain_pdf()):
        assert (await upload(api, draft, content)).status_code == 201
    assert (await submit(api, draft.id, draft.token)).status_code == 200
    withdrawn = await api.post(f"/api/v1/submissions/{draft.id}/withdraw", headers=draft.headers)
    assert withdrawn.status_code == 200
    assert len(_keys(s3_client)) == 2

    async with session_factory() as session, session.begin():
        report = await retention.purge(
            session,
            now=utcnow() + timedelta(days=3),
            default_days=1,
            attachment_storage=storage_for(settings),
        )

    assert (report.submissions, report.attachments) == (1, 2)
    assert _keys(s3_client) == []
