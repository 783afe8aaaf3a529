"""What the load checks share: a scratch PostgreSQL database migrated with Alembic and
seeded with a mix of catalog procedures, multi-worker servers on the production stack
whose worker processes can be found (and killed), the submission load under wrk with
retries, and the database checks."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from app.auth import citizen_tokens
from app.config import Settings
from app.db import make_engine, make_session_factory, utcnow
from app.forms.definition import ProcedureDefinition
from app.forms.service import load_catalog, read_catalog_directory
from app.municipalities.service import upsert_municipality
from app.seed import SAMPLE_MUNICIPALITIES
from bench.bare_app import CREATE_BASELINE_TABLE, INSERT_PATH
from bench.harness import Database, free_port, start_server
from bench.harness import scratch_database as harness_database
from bench.load.wrk import WrkFigures, run_to_completion, run_wrk
from tests.forms.sample_answers import sample_answers_without_files

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
                await load_catalog(session, code, read_catalog_directory(), now=datetime.now(UTC))
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(database.dsn)
    try:
        await connection.execute(CREATE_BASELINE_TABLE)
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

    def client_connections(self) -> dict[int, int]:
        """Established client connections per worker process (from `ss`)."""
        port = self.url.rsplit(":", 1)[1]
        listing = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        counts: dict[int, int] = dict.fromkeys(self.worker_pids(), 0)
        for pid in re.findall(r"pid=(\d+)", listing):
            if int(pid) in counts:
                counts[int(pid)] += 1
        return counts


def _is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"resource_tracker" not in cmdline


@contextmanager
def uvicorn_workers(app: str, *, env: dict[str, str], workers: int) -> Iterator[Server]:
    """The factory `app` with `workers` processes on the production server stack."""
    port = free_port()
    process = start_server(app, port=port, workers=workers, env=env)
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
    token = citizen_tokens.issue(settings, subject=subject, now=utcnow()).access_token
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
                # Created and submitted at once: no uploads exist yet to name.
                answers = sample_answers_without_files(definition, seed)
                if answers is not None:
                    templates.append(Template(path, {"answers": answers, "submit": True}, headers))
    return templates


@dataclass
class Outcome:
    """What the clients saw: the 2xx acknowledgements by Idempotency-Key, and wrk's
    figures (every attempt counts as a request there, retries included)."""

    figures: WrkFigures
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    replays: int = 0
    replay_mismatches: int = 0
    transport_errors: int = 0
    refused: dict[int, int] = field(default_factory=dict)

    def line(self, label: str) -> str:
        return (
            f"{label:<44} {self.figures.throughput:8.1f} req/s  p50 "
            f"{self.figures.p50_ms:7.1f} ms  p99 {self.figures.p99_ms:7.1f} ms"
        )


async def submit_load(
    base_url: str,
    templates: list[Template],
    *,
    total: int,
    concurrency: int,
    retry_share: float,
    while_running: Callable[[], Awaitable[None]] | None = None,
) -> Outcome:
    """wrk with `concurrency` connections (one thread each, bench/load/lua/
    checked_submit.lua) creates and submits `total` applications, each with its own
    Idempotency-Key; `retry_share` of them are sent again with the same key, as a phone
    on a bad network does; a request that gets no answer, a 409 (first attempt still in
    flight) or a 5xx is sent again with the same key until it gets a final answer.
    `while_running` is called every 0.2 s during the run."""
    request_lines = [
        f"{t.path}\t{t.headers.get('Authorization', '')}\t"
        f"{json.dumps(t.body, ensure_ascii=False, separators=(',', ':'))}"
        for t in templates
    ]
    quotas = {
        f"WRK_QUOTA_{thread}": str(total // concurrency + (thread < total % concurrency))
        for thread in range(concurrency)
    }
    figures, answers = await run_to_completion(
        base_url,
        "checked_submit.lua",
        request_lines=request_lines,
        connections=concurrency,
        env={
            "WRK_RUN_ID": f"load-{uuid.uuid4().hex[:8]}",
            "WRK_RETRY_PER_MILLE": str(round(retry_share * 1000)),
            **quotas,
        },
        while_running=while_running,
    )
    outcome = Outcome(figures)
    _read_answers(answers, outcome)
    return outcome


def _read_answers(answers: list[str], outcome: Outcome) -> None:
    first: dict[str, dict[str, Any]] = {}
    for line in answers:
        kind, *rest = line.split("\t", 3)
        if kind == "transport":
            outcome.transport_errors += int(rest[0])
            continue
        key, status_text, body_text = rest
        status = int(status_text)
        body = json.loads(body_text) if body_text else {}
        if not 200 <= status < 300:
            outcome.refused[status] = outcome.refused.get(status, 0) + 1
        elif kind == "first":
            first[key] = body
            outcome.acknowledged[key] = body
        else:
            outcome.replays += 1
            if _receipt(body) != _receipt(first.get(key, {})):
                outcome.replay_mismatches += 1


def _receipt(body: dict[str, Any]) -> dict[str, Any]:
    # The access token is shown once: a replay answers the same receipt without it.
    return {key: value for key, value in body.items() if key != "access_token"}


async def baseline_load(base_url: str, *, seconds: float, concurrency: int) -> WrkFigures:
    """The bare FastAPI + asyncpg INSERT under wrk, same connections, for `seconds`."""
    with tempfile.TemporaryDirectory(prefix="madoguchi-load-") as directory:
        requests = Path(directory) / "baseline.tsv"
        body = {"answers": {"requester": "self", "copies": 2}, "submit": True}
        requests.write_text(f"{INSERT_PATH}\t{json.dumps(body)}\n", encoding="utf-8")
        return await run_wrk(
            base_url,
            "post.lua",
            connections=concurrency,
            threads=min(2, concurrency),
            seconds=seconds,
            env={"WRK_REQUESTS": str(requests)},
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


def median_figures(runs: list[WrkFigures]) -> dict[str, float]:
    """The medians of several runs' figures; errors summed."""
    return {
        "req_s": statistics.median(r.throughput for r in runs),
        "p50_ms": statistics.median(r.p50_ms for r in runs),
        "p99_ms": statistics.median(r.p99_ms for r in runs),
        "non_2xx": sum(r.non_2xx for r in runs),
        "socket_errors": sum(r.socket_errors for r in runs),
    }


def load_average() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())
