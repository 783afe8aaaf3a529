"""A J-LIS-sized CRL: load time, memory per entry, and request latency while the app
reloads it, next to a bare request baseline measured in the same run.

    .venv/bin/python -m bench.crl_bench [--entries 5000000] [--seconds 15]
                                        [--connections 8] [--verifications 300]

- A test CA is made in a temporary trust directory; its authentication CA gets a CRL of
  `--entries` revoked serials, 20 bytes each (the widest RFC 5280 allows, so the worst
  case for memory), built twice (CRL numbers 1 and 2; build time printed).
- In a fresh process: `TrustStore.load` of the directory (timed), the memory it keeps
  (VmRSS before and after, and the index's own bytes) per entry, the peak (VmHWM); then
  the median of single in-process verifications, idle and while another thread runs a
  `TrustStore.load` of the same directory, as `LocalVerifier`'s reload does.
- Through HTTP on the production server stack (uvicorn, one worker, uvloop), with wrk:
  a bare FastAPI app answering a small JSON from memory (the baseline), the app's
  `GET /healthz` idle, and the same while the app reloads the CRL: the CRL file is
  replaced by the one numbered 2, a `/readyz` starts the reload (once the verifier's
  60 s reload interval has passed), and wrk runs until `/readyz` reports CRL number 2.

Prints figures and ratios; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from app.auth.jpki.facts import Sex
from app.auth.jpki.testca import CardHolder, RevokedEntry, TestCaHome, issue_large_crl
from app.auth.jpki.verifier import CertificateKind, LocalVerifier, SignedData, TrustStore
from bench.harness import PROJECT_ROOT, uvicorn_server
from bench.jpki_bench import migrate
from bench.load.wrk import WrkFigures, require_wrk, run_wrk

AUTH = CertificateKind.AUTHENTICATION
REASONS = [
    x509.ReasonFlags.affiliation_changed,
    x509.ReasonFlags.superseded,
    x509.ReasonFlags.cessation_of_operation,
    x509.ReasonFlags.key_compromise,
]
RELOAD_INTERVAL_SECONDS = 60  # LocalVerifier's default, which the app uses
GET_SCRIPT = "get.lua"


def revoked_entries(count: int, now: datetime) -> Iterator[RevokedEntry]:
    """20-byte serials spread like a CA's (not consecutive), dates over ten years."""
    base = 2**158
    for index in range(count):
        yield RevokedEntry(
            base + index * 7_919_000_001,
            REASONS[index % len(REASONS)],
            now - timedelta(days=index % 3650, seconds=index % 86_400),
        )


def build_trust_dir(directory: Path, entries: int) -> tuple[Path, Path, float, int]:
    """The trust directory with CRL 1 in place, CRL 2 beside it (outside the
    directory); returns both paths, the seconds one CRL took to build, and its size."""
    now = datetime.now(UTC)
    home = TestCaHome.init(directory / "trust", generations=[2023])
    authority = home.authority(AUTH)
    crl_path = home.trust_dir / f"{authority.stem}.crl"
    spare = directory / "next.crl"
    started = time.perf_counter()
    crl_path.write_bytes(
        issue_large_crl(authority, revoked_entries(entries, now), this_update=now, number=1)
    )
    built = time.perf_counter() - started
    spare.write_bytes(
        issue_large_crl(authority, revoked_entries(entries, now), this_update=now, number=2)
    )
    return crl_path, spare, built, crl_path.stat().st_size


# --- In a fresh process: load time, memory, in-process verification -----------------------


def _status(field: str) -> int:
    """VmRSS / VmHWM of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure_in_process(trust_dir: Path, verifications: int) -> dict[str, Any]:
    gc.collect()
    rss_before = _status("VmRSS")
    started = time.perf_counter()
    store = TrustStore.load(trust_dir)
    load_seconds = time.perf_counter() - started
    gc.collect()
    rss_after = _status("VmRSS")
    peak = _status("VmHWM")
    (crl,) = [a.revocation_list for a in store.authorities if a.revocation_list and a.kind is AUTH]
    index = crl.revoked
    entries = len(index)
    index_bytes = len(index.records) + index.offsets.itemsize * len(index.offsets)

    card = TestCaHome(trust_dir).mint_card(
        CardHolder("東御　花子", date(1990, 4, 1), Sex.FEMALE, "長野県東御市県２８１番地２")
    )
    certificate = card.certificate_der(AUTH)
    data = b"a-login-nonce"
    signature = card.sign(AUTH, data)
    verifier = LocalVerifier(store=store)

    async def verify_once() -> float:
        started = time.perf_counter()
        await verifier.verify(
            SignedData(certificate, data, signature), kind=AUTH, now=datetime.now(UTC)
        )
        return (time.perf_counter() - started) * 1000

    async def timings() -> tuple[list[float], list[float]]:
        idle = [await verify_once() for _ in range(verifications)]
        reloading = threading.Thread(target=TrustStore.load, args=(trust_dir,))
        reloading.start()
        during: list[float] = []
        while reloading.is_alive():
            during.append(await verify_once())
        reloading.join()
        return idle, during

    idle, during = asyncio.run(timings())
    return {
        "entries": entries,
        "load_seconds": round(load_seconds, 2),
        "retained_rss_bytes_per_entry": round((rss_after - rss_before) / entries, 1),
        "index_bytes_per_entry": round(index_bytes / entries, 1),
        "peak_rss_mib": round(peak / 2**20),
        "verify_idle_median_ms": round(statistics.median(idle), 3),
        "verify_during_reload_median_ms": round(statistics.median(during), 3),
        "verify_during_reload_p99_ms": round(_percentile(during, 0.99), 3),
        "verifications_during_reload": len(during),
    }


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- Through HTTP, with wrk ------------------------------------------------------------------


async def readiness(client: httpx.AsyncClient) -> tuple[str, int | None]:
    """(jpki state, the authentication CA's CRL number) as /readyz tells them."""
    body = (await client.get("/readyz")).json()
    numbers = [
        item.get("crl_number")
        for item in body.get("revocation_lists", [])
        if item["certificate_type"] == "authentication"
    ]
    return body.get("jpki", "unknown"), numbers[0] if numbers else None


async def http_figures(
    directory: Path, crl_path: Path, spare: Path, *, seconds: float, connections: int
) -> dict[str, Any]:
    database_url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    migrate(database_url)
    env = {
        "DATABASE_URL": database_url,
        "JPKI_TRUST_DIR": str(crl_path.parent),
        "LOG_LEVEL": "WARNING",
    }
    payload = directory / "payload.json"
    payload.write_text(json.dumps({"status": "ok"}), encoding="utf-8")
    threads = min(2, connections)
    figures: dict[str, Any] = {}
    with (
        uvicorn_server("app.main:create_app", env=env) as app_url,
        uvicorn_server(
            "bench.bare_app:create_payload_app", env={**env, "BENCH_PAYLOAD": str(payload)}
        ) as bare_url,
    ):
        async with httpx.AsyncClient(base_url=app_url, timeout=600) as client:
            started = time.perf_counter()
            state, number = await readiness(client)  # builds the verifier
            while state in {"loading", "unavailable"}:
                await asyncio.sleep(0.5)
                state, number = await readiness(client)
            built_at = time.monotonic()
            figures["app_first_load_seconds"] = round(time.perf_counter() - started, 1)
            print(
                f"  the app's first load of the trust store: {figures['app_first_load_seconds']} s"
            )

            bare = await run_wrk(
                f"{bare_url}/payload",
                GET_SCRIPT,
                connections=connections,
                threads=threads,
                seconds=seconds,
                env={},
            )
            print(f"  bare GET /payload         {bare.line()}")
            idle = await run_wrk(
                f"{app_url}/healthz",
                GET_SCRIPT,
                connections=connections,
                threads=threads,
                seconds=seconds,
                env={},
            )
            print(f"  app GET /healthz, idle    {idle.line()}")

            await asyncio.sleep(max(0.0, built_at + RELOAD_INTERVAL_SECONDS + 1 - time.monotonic()))
            os.replace(spare, crl_path)  # one rename: a reload never reads half a file
            before = number
            reload_started = time.perf_counter()
            await client.get("/readyz")  # due: starts the reload in the verifier's thread

            async def reloaded() -> bool:
                return (await readiness(client))[1] != before

            during = await run_wrk(
                f"{app_url}/healthz",
                GET_SCRIPT,
                connections=connections,
                threads=threads,
                seconds=600,
                env={},
                stop_when=reloaded,
            )
            reload_seconds = time.perf_counter() - reload_started
            after_number = (await readiness(client))[1]
            print(f"  app GET /healthz, reload  {during.line()}")
    figures.update(
        {
            "bare": bare.as_dict(),
            "idle": idle.as_dict(),
            "during_reload": during.as_dict(),
            "reload_seconds": round(reload_seconds, 1),
            "crl_number": [before, after_number],
        }
    )
    figures["ratios"] = _ratios(bare, idle, during)
    return figures


def _ratios(bare: WrkFigures, idle: WrkFigures, during: WrkFigures) -> dict[str, float]:
    return {
        "p50_idle_over_bare": round(idle.p50_ms / bare.p50_ms, 2),
        "p50_reload_over_bare": round(during.p50_ms / bare.p50_ms, 2),
        "p50_reload_over_idle": round(during.p50_ms / idle.p50_ms, 2),
        "p99_reload_over_idle": round(during.p99_ms / idle.p99_ms, 2),
        "max_reload_over_idle": round(during.max_ms / idle.max_ms, 2),
        "throughput_reload_over_idle": round(during.throughput / idle.throughput, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=5_000_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--verifications", type=int, default=300)
    parser.add_argument("--in-process", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.in_process:
        print(json.dumps(measure_in_process(arguments.in_process, arguments.verifications)))
        return

    require_wrk()
    print(f"# CRL at J-LIS scale ({platform.python_version()}, {os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory(prefix="madoguchi-crl-") as scratch:
        directory = Path(scratch)
        print(f"building two CRLs of {arguments.entries:,} entries ...", flush=True)
        crl_path, spare, built, size = build_trust_dir(directory, arguments.entries)
        print(f"  one CRL: {size / 2**20:,.0f} MiB DER, built in {built:.1f} s")

        print("loading it in a fresh process ...", flush=True)
        completed = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.crl_bench",
                "--in-process",
                str(crl_path.parent),
                "--verifications",
                str(arguments.verifications),
            ],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        loaded = json.loads(completed.stdout.strip().splitlines()[-1])
        print(
            f"  TrustStore.load: {loaded['load_seconds']} s for {loaded['entries']:,} entries; "
            f"memory kept {loaded['retained_rss_bytes_per_entry']} B/entry (RSS), index "
            f"{loaded['index_bytes_per_entry']} B/entry (limit 40); peak RSS "
            f"{loaded['peak_rss_mib']} MiB"
        )
        print(
            f"  one verification in process: median {loaded['verify_idle_median_ms']} ms idle, "
            f"{loaded['verify_during_reload_median_ms']} ms while another thread loads the CRL "
            f"(p99 {loaded['verify_during_reload_p99_ms']} ms, "
            f"{loaded['verifications_during_reload']} verifications during the load)"
        )

        print(
            f"HTTP, wrk, {arguments.connections} connections, "
            f"{arguments.seconds:.0f} s a phase ...",
            flush=True,
        )
        served = asyncio.run(
            http_figures(
                directory,
                crl_path,
                spare,
                seconds=arguments.seconds,
                connections=arguments.connections,
            )
        )
    ratios = served["ratios"]
    print(
        f"  reload took {served['reload_seconds']} s (CRL number {served['crl_number'][0]} -> "
        f"{served['crl_number'][1]})"
    )
    print(
        f"  p50: idle x{ratios['p50_idle_over_bare']} of bare, during reload "
        f"x{ratios['p50_reload_over_bare']} of bare, x{ratios['p50_reload_over_idle']} of idle; "
        f"p99 during reload x{ratios['p99_reload_over_idle']} of idle; max "
        f"x{ratios['max_reload_over_idle']}; throughput x{ratios['throughput_reload_over_idle']}"
    )
    print(json.dumps({"in_process": loaded, "http": served}))


if __name__ == "__main__":
    main()
