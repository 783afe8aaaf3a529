"""What the load checks share: a scratch PostgreSQL database migrated with Alembic and
seeded with a mix of catalog procedures, multi-worker uvicorn servers whose worker
processes can be found (and killed), the submission load with retries, and the
database checks."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.auth import citizen_tokens
from app.config import Settings
from app.db import make_engine, make_session_factory
from app.forms.definition import ProcedureDefinition
from app.forms.service import load_catalog, read_catalog_directory
from app.municipalities.service import upsert_municipality
from app.seed import SAMPLE_MUNICIPALITIES
from bench.harness import Database, LoadResult, closed_loop, free_port
from bench.harness import scratch_database as harness_database
from bench.submit_bench import BASELINE_TABLE
from tests.forms.sample_answers import sample_answers

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOMI = "202193"
UEDA = "202037"
# Procedures a phone can submit in one request: no card signature needed at submit.
IDENTITIES = ("none", "jpki_auth")
ANSWER_VARIANTS = 20


@asynccontextmanager
async def scratch_database() -> AsyncIterator[Database]:
    """A database of its own, migrated to head and seeded; dropped at the end."""
    async with harness_database("madoguchi_load") as database:
        await _seed(database)
        yield database


async def _seed(database: Database) -> None:
    engine = make_engine(database.url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            for municipality in SAMPLE_MUNICIPALITIES:
                await upsert_municipality(session, municipality)
            for code in (TOMI, UEDA):
                await load_catalog(session, code, read_catalog_directory())
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(database.dsn)
    try:
        await connection.execute(
            f"CREATE TABLE {BASELINE_TABLE} "
            "(id uuid PRIMARY KEY, answers jsonb NOT NULL, created_at timestamptz NOT NULL)"
        )
    finally:
        await connection.close()


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()]
        # The multiprocessing resource tracker is a child too; workers run uvicorn.
        return [pid for pid in pids if _is_worker(pid)]


def _is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"resource_tracker" not in cmdline


@contextmanager
def uvicorn_workers(app: str, *, env: dict[str, str], workers: int) -> Iterator[Server]:
    port = free_port()
    command_line = [
        sys.executable, "-m", "uvicorn", app, "--factory",
        "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    process = subprocess.Popen(command_line, cwd=PROJECT_ROOT, env={**os.environ, **env})
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        _wait_until_serving(port, workers, server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_serving(port: int, workers: int, server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                if len(server.worker_pids()) >= workers:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"uvicorn did not start on port {port}")


# --- The submission mix -------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


def submission_templates(settings: Settings) -> list[Template]:
    """Create-and-submit requests over every catalog procedure a phone can submit in one
    request, in both municipalities, with several answer sets each."""
    subject = hashlib.sha256(b"bench-load-citizen").hexdigest()
    token = citizen_tokens.issue(settings, subject=subject).access_token
    templates = []
    for raw in read_catalog_directory():
        definition = ProcedureDefinition.model_validate(raw)
        if definition.identity_requirement not in IDENTITIES:
            continue
        headers = (
            {"Authorization": f"Bearer {token}"}
            if definition.identity_requirement == "jpki_auth"
            else {}
        )
        for municipality in (TOMI, UEDA):
            path = f"/api/v1/municipalities/{municipality}/procedures/{definition.code}/submissions"
            for seed in range(ANSWER_VARIANTS):
                body = {"answers": sample_answers(definition, seed), "submit": True}
                templates.append(Template(path, body, headers))
    return templates


@dataclass
class Outcome:
    """What the clients saw: the 2xx acknowledgements by Idempotency-Key."""

    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    replays: int = 0
    replay_mismatches: int = 0
    transport_errors: int = 0
    refused: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0


async def submit_load(
    base_url: str,
    templates: list[Template],
    *,
    total: int,
    concurrency: int,
    retry_share: float,
    on_progress: Callable[[int], None] | None = None,
) -> Outcome:
    """`concurrency` clients create and submit `total` applications, each with its own
    Idempotency-Key. `retry_share` of them are sent again with the same key, as a phone
    on a bad network does; a request that fails in transport is retried with the same
    key until it is acknowledged."""
    outcome = Outcome()
    rnd = random.Random(8)
    plan = [(index, rnd.random() < retry_share) for index in range(total)]
    queue = iter(plan)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def send(template: Template, key: str) -> httpx.Response:
            for attempt in range(50):
                started = time.perf_counter()
                try:
                    response = await client.post(
                        template.path,
                        json=template.body,
                        headers={**template.headers, "Idempotency-Key": key},
                    )
                except httpx.TransportError:
                    outcome.transport_errors += 1
                    await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
                    continue
                outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
                if response.status_code >= 500 or response.status_code == 409:
                    # 409: the first attempt with this key is still in flight.
                    await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
                    continue
                return response
            raise RuntimeError(f"no answer for {key} after 50 attempts")

        async def client_loop() -> None:
            for index, retried in queue:
                template = templates[index % len(templates)]
                key = f"load-{index}-{uuid.uuid4().hex}"
                response = await send(template, key)
                if not response.is_success:
                    outcome.refused[response.status_code] = (
                        outcome.refused.get(response.status_code, 0) + 1
                    )
                    continue
                outcome.acknowledged[key] = response.json()
                if retried:
                    replay = await send(template, key)
                    outcome.replays += 1
                    if _receipt(replay.json()) != _receipt(response.json()):
                        outcome.replay_mismatches += 1
                if on_progress is not None:
                    on_progress(len(outcome.acknowledged))

        started = time.perf_counter()
        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        outcome.seconds = time.perf_counter() - started
    return outcome


def _receipt(body: dict[str, Any]) -> dict[str, Any]:
    # The access token is shown once: a replay answers the same receipt without it.
    return {key: value for key, value in body.items() if key != "access_token"}


def as_result(label: str, outcome: Outcome) -> LoadResult:
    return LoadResult(
        label,
        len(outcome.latencies_ms),
        sum(outcome.refused.values()),
        outcome.seconds,
        outcome.latencies_ms,
    )


async def baseline_load(base_url: str, total: int, concurrency: int) -> LoadResult:
    """The bare FastAPI + asyncpg INSERT, same request count and clients."""
    answers = {"requester": "self", "copies": 2}

    async def send(client: httpx.AsyncClient, _: int) -> httpx.Response:
        return await client.post("/applications", json={"answers": answers, "submit": True})

    return await closed_loop(
        f"baseline (pydantic + asyncpg INSERT) c={concurrency}",
        send,
        base_url=base_url,
        total=total,
        concurrency=concurrency,
        ok=lambda response: response.status_code == 201,
    )


# --- The database checks ------------------------------------------------------------------


@dataclass
class Check:
    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"  [{'ok' if self.passed else 'FAIL'}] {self.name}: {self.detail}"


async def check_database(dsn: str, outcome: Outcome, *, expected: int | None) -> list[Check]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT id, municipality_code, fiscal_year, reference_number, status, "
            "submitted_at, fee_total, answers FROM submissions"
        )
        counters = await connection.fetch(
            "SELECT municipality_code, fiscal_year, last_value FROM reference_counters"
        )
        eventless = await connection.fetchval(
            "SELECT count(*) FROM submissions s WHERE NOT EXISTS "
            "(SELECT 1 FROM submission_events e WHERE e.submission_id = s.id)"
        )
        orphan_events = await connection.fetchval(
            "SELECT count(*) FROM submission_events e WHERE NOT EXISTS "
            "(SELECT 1 FROM submissions s WHERE s.id = e.submission_id)"
        )
        record_bodies = await connection.fetch(
            "SELECT response_body FROM idempotency_records WHERE response_body IS NOT NULL"
        )
    finally:
        await connection.close()

    checks: list[Check] = []
    count = len(rows)
    want = expected if expected is not None else len(outcome.acknowledged)
    checks.append(Check("submissions in the database", count == want, f"{count} (want {want})"))

    numbers = [row["reference_number"] for row in rows]
    unique = len(set(numbers)) == len(numbers) and None not in numbers
    checks.append(Check("reference numbers unique and set", unique, f"{len(set(numbers))}"))

    gaps: list[str] = []
    by_series: dict[tuple[str, int], list[int]] = {}
    for row in rows:
        if row["reference_number"]:
            sequence = int(row["reference_number"].rsplit("-", 1)[1])
            by_series.setdefault((row["municipality_code"], row["fiscal_year"]), []).append(
                sequence
            )
    last_values = {(c["municipality_code"], c["fiscal_year"]): c["last_value"] for c in counters}
    for series, sequences in by_series.items():
        if sorted(sequences) != list(range(1, len(sequences) + 1)):
            gaps.append(f"{series}: numbers not 1..{len(sequences)}")
        if last_values.get(series) != len(sequences):
            gaps.append(f"{series}: counter {last_values.get(series)} != {len(sequences)}")
    series_text = ", ".join(f"{m}/{y}: {len(s)}" for (m, y), s in sorted(by_series.items()))
    checks.append(
        Check("gap-free per municipality and fiscal year", not gaps, "; ".join(gaps) or series_text)
    )

    incomplete = [
        row["id"]
        for row in rows
        if row["status"] not in ("submitted", "awaiting_payment")
        or row["submitted_at"] is None
        or row["fee_total"] is None
        or not row["answers"]
    ]
    checks.append(Check("every submission complete", not incomplete, f"{len(incomplete)} not"))
    checks.append(Check("every submission has its event", eventless == 0, f"{eventless} without"))
    checks.append(Check("no orphan events", orphan_events == 0, f"{orphan_events} orphans"))

    stored_ids = {str(row["id"]) for row in rows}
    acknowledged_ids = {body["id"] for body in outcome.acknowledged.values()}
    missing = acknowledged_ids - stored_ids
    checks.append(
        Check(
            "every 2xx acknowledgement stored",
            not missing,
            f"{len(acknowledged_ids)} acknowledged, {len(missing)} missing",
        )
    )
    record_ids = {json.loads(r["response_body"]).get("id") for r in record_bodies}
    dangling = record_ids - stored_ids - {None}
    checks.append(
        Check(
            "no idempotency record without its submission",
            not dangling,
            f"{len(dangling)} dangling",
        )
    )
    checks.append(
        Check(
            "retries answered with the first response",
            outcome.replay_mismatches == 0,
            f"{outcome.replays} retried, {outcome.replay_mismatches} differed",
        )
    )
    return checks
