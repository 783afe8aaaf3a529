"""`python -m app.serve` (`make serve`): the production server command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SERVER_SETTINGS = ("DATABASE_URL", "ENVIRONMENT", "HOST", "PORT", "WEB_CONCURRENCY")


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
