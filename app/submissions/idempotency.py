"""`Idempotency-Key` (冪等キー): a retried request gets the first response, not a second
application. Never commits: the record is written in the transaction doing the work.

The first request with a key inserts its record (response still empty), does the work
and stores the response; all in one transaction. A failed request therefore leaves no
record and may be retried. A concurrent request with the same key blocks on the insert
(PostgreSQL waits for the first transaction's unique-index entry) and, once the first
commits, finds its response and replays it.

Keys are fresh per action, so a key is almost always new: `claim(assume_new=True)` leaves the
insert to go in with the request's first statement (no round trip of its own). When the
key was taken after all, that statement fails (`is_taken`); the request rolls back and
claims as above.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import HotStatement, table_of, violates_unique
from app.errors import AppError, Conflict
from app.submissions.dialects import insert_ignoring_conflicts_of
from app.submissions.models import IdempotencyRecord

KEY_PATTERN = re.compile(r"^[\x20-\x7e]{1,255}$")
"""1–255 printable ASCII characters; clients should send a fresh UUID per action."""


class IdempotencyKeyInvalid(AppError, code="IDEMPOTENCY_KEY_INVALID"): ...


class IdempotencyKeyReused(AppError, code="IDEMPOTENCY_KEY_REUSED", status=422): ...


class IdempotencyInProgress(Conflict, code="IDEMPOTENCY_IN_PROGRESS"): ...


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """The response to store for a claimed key (`record_response`'s arguments), when it
    is written by the statement that numbers the application: its `reference_number`
    is filled in there (app.submissions.reference_numbers)."""

    scope: str
    key: str
    status: int
    body: dict[str, Any]


def parse_key(header_value: str | None) -> str | None:
    if header_value is None:
        return None
    if not KEY_PATTERN.fullmatch(header_value):
        raise IdempotencyKeyInvalid(
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            "Idempotency-Keyは1〜255文字の半角英数記号で指定してください。",
        )
    return header_value


def request_fingerprint(operation: str, *parts: Any) -> str:
    """SHA-256 of what the request asks for (operation, target, parsed body), so the
    same request resent with other whitespace or key order still matches."""
    canonical = json.dumps(
        [operation, *parts], ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    request_hash: str,
    now: datetime,
    ttl: timedelta,
    assume_new: bool = False,
) -> StoredResponse | None:
    """Reserve `key` for this request. None: go ahead and do the work, then call
    `record_response`. A StoredResponse: replay it instead of doing the work.

    `assume_new`: the key is most likely new, as every fresh key is. Its record goes in
    with the transaction's next statement (on PostgreSQL as a WITH of it), or at once
    elsewhere, and the answer is None. If the key was taken after all, the statement
    that writes the record fails with an IntegrityError that `is_taken` recognises:
    roll back and claim again without it (which replays or refuses). A request with the
    same key still running holds that statement until it ends."""
    record = {
        "scope": scope,
        "key": key,
        "request_hash": request_hash,
        "created_at": now,
        "expires_at": now + ttl,
    }
    if assume_new:
        await _INSERT_RECORD.write_later(session, record)
        return None
    claimed = await _CLAIM.scalar(session, record)
    if claimed is not None:
        return None

    existing = await _read(session, scope, key)
    if existing is None:
        raise _in_progress()  # purged between our insert and this read: retry
    if existing.expires_at <= now:
        # An expired key is free again. The WHERE makes one racing request the taker.
        taken = await session.scalar(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == existing.id, IdempotencyRecord.expires_at <= now)
            .values(
                request_hash=request_hash,
                response_status=None,
                response_body=None,
                created_at=now,
                expires_at=now + ttl,
            )
            .returning(IdempotencyRecord.id)
            .execution_options(synchronize_session=False)
        )
        if taken is not None:
            return None
        existing = await _read(session, scope, key)
        if existing is None:
            raise _in_progress()

    if existing.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request. Use a new key.",
            "このIdempotency-Keyは別の内容で使用されています。新しいキーを使用してください。",
        )
    if existing.response_status is None or existing.response_body is None:
        raise _in_progress()
    return StoredResponse(existing.response_status, existing.response_body)


def is_taken(error: IntegrityError) -> bool:
    """Whether `error` is a record claimed with `assume_new` meeting its key's record."""
    return violates_unique(error, _records, "scope", "key")


async def record_response(
    session: AsyncSession, *, scope: str, key: str, status: int, body: dict[str, Any]
) -> None:
    """Store the response of a claimed key. `body` must hold no secret (no token)."""
    await _RECORD_RESPONSE.run(
        session, {"in_scope": scope, "of_key": key, "status": status, "body": body}
    )


def record_response_statement(body: Any) -> Any:
    """The UPDATE `record_response` runs, with `body` as the stored body's expression
    (parameters in_scope, of_key, status): for a statement that computes part of it."""
    return (
        update(_records)
        .where(_records.c.scope == bindparam("in_scope"), _records.c.key == bindparam("of_key"))
        .values(response_status=bindparam("status"), response_body=body)
    )


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    """Delete expired records (a periodic job calls this); returns how many."""
    result = await session.execute(
        delete(IdempotencyRecord)
        .where(IdempotencyRecord.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# Built once (they run on every request with a key); values are passed as parameters.
_records = table_of(IdempotencyRecord)
_CLAIM = HotStatement(
    lambda dialect: insert_ignoring_conflicts_of(dialect, _records, ("scope", "key")).returning(
        _records.c.id
    )
)
_INSERT_RECORD = HotStatement(insert(_records))
_RECORD_RESPONSE = HotStatement(record_response_statement(bindparam("body")))


def _in_progress() -> IdempotencyInProgress:
    return IdempotencyInProgress(
        "The first request with this key has not finished. Retry shortly.",
        "同じキーの最初のリクエストがまだ完了していません。しばらくしてから再度お試しください。",
    )


@dataclass(frozen=True)
class _Existing:
    id: int
    request_hash: str
    response_status: int | None
    response_body: dict[str, Any] | None
    expires_at: datetime


async def _read(session: AsyncSession, scope: str, key: str) -> _Existing | None:
    # Columns, not the ORM object: a fresh read each time, whatever the identity map holds.
    row = (
        await session.execute(
            select(
                IdempotencyRecord.id,
                IdempotencyRecord.request_hash,
                IdempotencyRecord.response_status,
                IdempotencyRecord.response_body,
                IdempotencyRecord.expires_at,
            ).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        )
    ).one_or_none()
    return None if row is None else _Existing(*row)
