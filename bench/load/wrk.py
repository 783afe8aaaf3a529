"""wrk, the C load generator (Debian's `wrk`), driven from Python.

A Lua script in bench/load/lua/ shapes the requests; summary.lua, appended to each
script, writes wrk's own figures as JSON when the run ends. Python only writes the
request files, starts wrk, and reads the figures (and any per-request files) back:
it never sits in the request path.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LUA_DIR = Path(__file__).resolve().parent / "lua"


@dataclass(frozen=True)
class WrkFigures:
    """What wrk measured: completed requests, answers >= 400 ("non-2xx"; these requests
    never redirect), socket errors and latency percentiles."""

    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    """connect + read + write errors and timeouts."""
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "req_s": round(self.throughput, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p90_ms": round(self.p90_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "requests": self.requests,
            "non_2xx": self.non_2xx,
            "socket_errors": self.socket_errors,
        }

    def line(self) -> str:
        return (
            f"{self.throughput:8.1f} req/s  p50 {self.p50_ms:7.1f} ms  p99 {self.p99_ms:7.1f} ms"
            f"  non-2xx {self.non_2xx}  socket errors {self.socket_errors}"
        )


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    return path


async def run_wrk(
    url: str,
    script: str,
    *,
    connections: int,
    threads: int,
    seconds: float,
    env: dict[str, str],
    timeout_seconds: float = 10,
    stop_when: Callable[[], Awaitable[bool]] | None = None,
) -> WrkFigures:
    """Run bench/load/lua/`script` against `url` for `seconds`, or until `stop_when()`
    (polled every 0.2 s) answers True; then wrk is interrupted and reports as usual."""
    with tempfile.TemporaryDirectory(prefix="madoguchi-wrk-") as directory:
        script_path = Path(directory) / "script.lua"
        script_path.write_text(
            (LUA_DIR / script).read_text(encoding="utf-8")
            + "\n"
            + (LUA_DIR / "summary.lua").read_text(encoding="utf-8"),
            encoding="utf-8",
        )
        summary_path = Path(directory) / "summary.json"
        process = await asyncio.create_subprocess_exec(
            require_wrk(),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={max(1, round(timeout_seconds))}s",
            "-s",
            str(script_path),
            url,
            env={**os.environ, **env, "WRK_SUMMARY": str(summary_path)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output = asyncio.ensure_future(process.communicate())
        while not output.done():
            await asyncio.wait([output], timeout=0.2)
            if not output.done() and stop_when is not None and await stop_when():
                process.send_signal(signal.SIGINT)  # wrk stops its threads and reports
                stop_when = None
        stdout, _ = output.result()
        if process.returncode != 0 or not summary_path.exists():
            raise RuntimeError(f"wrk failed ({process.returncode}): {stdout.decode()[-2000:]}")
        raw = json.loads(summary_path.read_text(encoding="utf-8"))
    return WrkFigures(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1_000_000,
        non_2xx=raw["non_2xx"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )


async def run_to_completion(
    url: str,
    script: str,
    *,
    request_lines: list[str],
    connections: int,
    env: dict[str, str],
    while_running: Callable[[], Awaitable[None]] | None = None,
) -> tuple[WrkFigures, list[str]]:
    """Run a script that works through a fixed list of requests ($WRK_REQUESTS) with one
    connection per thread ($WRK_THREADS) and writes its answers to $WRK_OUT/<thread>.tsv
    when that thread is done: until every thread is done (at most an hour). Returns
    wrk's figures and every answer line. `while_running` is called every 0.2 s."""
    with tempfile.TemporaryDirectory(prefix="madoguchi-wrk-") as directory:
        requests = Path(directory) / "requests.tsv"
        requests.write_text("".join(f"{line}\n" for line in request_lines), encoding="utf-8")
        out = Path(directory) / "answers"
        out.mkdir()

        async def all_threads_done() -> bool:
            if while_running is not None:
                await while_running()
            return len(list(out.glob("*.tsv"))) == connections

        figures = await run_wrk(
            url,
            script,
            connections=connections,
            threads=connections,
            seconds=3600,
            timeout_seconds=60,
            env={
                **env,
                "WRK_REQUESTS": str(requests),
                "WRK_OUT": str(out),
                "WRK_THREADS": str(connections),
            },
            stop_when=all_threads_done,
        )
        answers = [
            line
            for path in sorted(out.glob("*.tsv"))
            for line in path.read_text(encoding="utf-8").splitlines()
        ]
    return figures, answers
