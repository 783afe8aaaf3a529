"""`python -m app.serve` (`make serve`): the production server command."""

from __future__ import annotations

import asyncio
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings

ROOT = Path(__file__).resolve().parent.parent
SERVER_SETTINGS = (
    "DATABASE_URL",
    "ENVIRONMENT",
    "HOST",
    "PORT",
    "WEB_CONCURRENCY",
    "FORWARDED_ALLOW_IPS",
)


def _environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SERVER_SETTINGS}
    return {**env, "PYTHONPATH": str(ROOT), **settings}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_refuses_to_start_without_database_url(tmp_path: Path) -> None:
    # Run from an empty directory: no .env there to supply one.
    started = subprocess.run(
        [sys.executable, "-m", "app.serve"],
        cwd=tmp_path,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "DATABASE_URL is not set" in started.stderr


def test_production_refuses_sqlite_and_development_secrets(tmp_path: Path) -> None:
    started = subprocess.run(
        [sys.executable, "-m", "app.serve"],
        cwd=tmp_path,
        env=_environment(
            tmp_path,
            ENVIRONMENT="production",
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "production runs on PostgreSQL (DATABASE_URL)" in started.stderr
    assert "SECRET_KEY must be set in production" in started.stderr


def test_serves_on_port_with_web_concurrency_workers(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.serve"],
        cwd=tmp_path,
        env=_environment(
            tmp_path,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
            PORT=str(port),
            WEB_CONCURRENCY="2",
            LOG_LEVEL="WARNING",
        ),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        assert response.status_code == 200
        while len(workers := _workers(process.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(workers) == 2
        # uvloop and httptools, not the asyncio loop and h11 (see app/serve.py).
        for worker in workers:
            mapped = Path(f"/proc/{worker}/maps").read_text()
            assert "uvloop" in mapped
            assert "httptools" in mapped
    finally:
        process.terminate()
        process.wait(timeout=30)


def _workers(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    # The multiprocessing resource tracker is a child too.
    return [
        int(pid)
        for pid in children
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def _make_run_command(port: int) -> list[str]:
    """The server line of `make run`, as make would run it, on another port."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\nrun: seed\n", 1)[1].split("\n\n", 1)[0]
    [line] = [line.strip() for line in recipe.splitlines() if "uvicorn" in line]
    line = line.replace("$(BIN)/", f"{Path(sys.executable).parent}/")
    assert "--port 8000" in line
    return shlex.split(line.replace("--port 8000", f"--port {port}"))


@pytest.mark.parametrize("command", ["make serve", "make run"])
async def test_the_servers_believe_no_forwarded_header_unless_configured(
    tmp_path: Path, settings: Settings, engine: AsyncEngine, command: str
) -> None:
    """From 127.0.0.1 with a fresh X-Forwarded-For each time, the per-IP limit still
    counts the peer: neither server trusts a proxy nobody configured."""
    port = _free_port()
    argv = (
        [sys.executable, "-m", "app.serve"] if command == "make serve" else _make_run_command(port)
    )
    environment = _environment(
        tmp_path,
        DATABASE_URL=settings.database_url,
        PORT=str(port),
        LOG_LEVEL="WARNING",
        RATE_LIMIT_JPKI_PER_WINDOW="2",
        RATE_LIMIT_WINDOW_SECONDS="600",
    )
    process = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, env=environment)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            await _wait_until_up(client, process)
            statuses = [
                (
                    await client.post(
                        "/api/v1/auth/jpki/challenge",
                        headers={"X-Forwarded-For": f"203.0.113.{n}"},
                    )
                ).status_code
                for n in range(3)
            ]
        assert statuses == [200, 200, 429]
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)


async def _wait_until_up(client: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            await client.get("/healthz")
            return
        except httpx.TransportError:
            if time.monotonic() > deadline or process.returncode is not None:
                raise
            await asyncio.sleep(0.2)
