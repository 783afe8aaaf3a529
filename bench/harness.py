"""Shared benchmark plumbing: servers in subprocesses on loopback ports, a bounded
closed-loop HTTP load, and figures printed as medians and percentiles.

Benchmarks print; they never assert. Every figure is printed next to a bare baseline
measured in the same run, because the machines are shared and noisy.
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db import make_engine

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    app: str, *, port: int, workers: int, env: dict[str, str], root: Path = PROJECT_ROOT
) -> subprocess.Popen[bytes]:
    """`app` (a uvicorn factory) on the production server stack: `python -m bench.serve`
    runs it with the options of `python -m app.serve` (uvloop, httptools, workers).
    `root` is the checkout it is imported from (another one to compare two versions)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench.serve", app],
        cwd=root,
        env={
            **os.environ,
            "LOG_LEVEL": "WARNING",
            **env,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
        },
    )


@contextmanager
def uvicorn_server(
    app: str,
    *,
    env: dict[str, str] | None = None,
    factory: bool = True,
    workers: int = 1,
    root: Path = PROJECT_ROOT,
) -> Iterator[str]:
    """Runs the factory `app` (imported from the checkout `root`) on a free loopback port
    until the block ends; yields its URL."""
    if not factory:
        raise ValueError("benchmark apps are uvicorn factories")
    port = free_port()
    process = start_server(app, port=port, workers=workers, env=env or {}, root=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{app} did not start on port {port}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass(frozen=True)
class LoadResult:
    label: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: Sequence[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
        return ordered[index]

    def line(self) -> str:
        return (
            f"{self.label:<44} {self.throughput:9.1f} req/s   p50 {self.percentile(0.5):7.2f} ms"
            f"   p99 {self.percentile(0.99):7.2f} ms   errors {self.errors}"
        )


async def closed_loop(
    label: str,
    send: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]],
    *,
    base_url: str,
    total: int,
    concurrency: int,
    ok: Callable[[httpx.Response], bool] = lambda r: r.status_code < 400,
) -> LoadResult:
    """`concurrency` clients each send requests back to back until `total` are sent."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal errors
            for index in counter:
                started = time.perf_counter()
                try:
                    response = await send(client, index)
                    good = ok(response)
                except httpx.HTTPError:
                    good = False
                latencies.append((time.perf_counter() - started) * 1000)
                if not good:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return LoadResult(label, total, errors, seconds, latencies)


def median_us(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1_000_000


def time_calls(function: Callable[[], object], *, repeat: int) -> list[float]:
    """Seconds per call, one sample per call."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


@dataclass(frozen=True)
class Database:
    name: str
    url: str
    """SQLAlchemy URL (asyncpg driver) for the app."""
    dsn: str
    """Plain libpq DSN for asyncpg."""


def _admin_url() -> str:
    return os.environ.get(
        "BENCH_DATABASE_URL",
        f"postgresql+asyncpg://{os.environ.get('PGUSER', 'postgres')}@127.0.0.1:5432/postgres",
    )


def _database(name: str) -> Database:
    url = make_url(_admin_url()).set(database=name)
    return Database(
        name=name,
        url=url.render_as_string(hide_password=False),
        dsn=url.set(drivername="postgresql").render_as_string(hide_password=False),
    )


async def _migrate(database: Database) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database.url
    # Alembic's async env calls asyncio.run(), so it runs in a thread of its own.
    await asyncio.to_thread(command.upgrade, config, "head")


@asynccontextmanager
async def scratch_database(prefix: str = "madoguchi_bench") -> AsyncIterator[Database]:
    """A PostgreSQL database of the benchmark's own, migrated to head; dropped at the end.
    The server is `BENCH_DATABASE_URL` (an account that may create databases)."""
    database = _database(f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}")
    await _admin(_admin_url(), f'CREATE DATABASE "{database.name}"')
    try:
        await _migrate(database)
        yield database
    finally:
        await _admin(_admin_url(), f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)')


async def kept_database(name: str) -> Database:
    """The PostgreSQL database `name`, kept between runs (a large data set is built
    once): created when missing, migrated to head, never dropped here."""
    database = _database(name)
    engine = make_engine(_admin_url())
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
    finally:
        await engine.dispose()
    if not exists:
        await _admin(_admin_url(), f'CREATE DATABASE "{name}"')
    await _migrate(database)
    return database


async def _admin(admin_url: str, statement: str) -> None:
    engine = make_engine(admin_url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


# --- In-process CPU figures (bench.submit_cpu, bench.webhook_cpu) -------------------------


async def asgi_post(
    app: Any, path: str, body: bytes, headers: Sequence[tuple[bytes, bytes]]
) -> tuple[int, bytes]:
    """One POST through an ASGI app's whole stack (middleware, routing, the handler),
    without a server or an HTTP client: its status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0
    answer = b""

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, answer
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            answer += message.get("body", b"")

    await app(scope, receive, send)
    return status, answer


@dataclass
class Spent:
    """Seconds a block took: the process's CPU (user + system) and the wall clock."""

    cpu: float = 0.0
    wall: float = 0.0


@contextmanager
def spent(profile_path: str | None = None) -> Iterator[Spent]:
    """Measures the block; with `profile_path`, also writes a cProfile of it there."""
    result = Spent()
    profiler = cProfile.Profile(time.process_time) if profile_path else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    try:
        yield result
    finally:
        if profiler and profile_path:
            profiler.disable()
            profiler.dump_stats(profile_path)
        result.cpu, result.wall = time.process_time() - cpu, time.perf_counter() - wall
