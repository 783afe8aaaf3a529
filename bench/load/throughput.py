"""create+submit under wrk, next to a bare insert app on the same server stack
(`make bench-load`).

    .venv/bin/python -m bench.load.throughput [--seconds 10] [--repeat 3] [--workers 2]
        [--connections 1 16 64] [--spread-connections 64] [--json figures.json]

One scratch PostgreSQL database, migrated with Alembic, seeded with 20 municipalities of
長野県 (valid 全国地方公共団体コード), each publishing the catalog's street-light-request
(防犯灯の設置・修繕の要望; no login, one request creates and submits). Two servers run
side by side, each with `--workers` processes on the production stack (`python -m
bench.serve`, the options of `python -m app.serve`: uvloop + httptools):

- baseline: bench.bare_app:create_insert_app, FastAPI + pydantic + one asyncpg INSERT;
- app: madoguchi, `POST /api/v1/municipalities/{code}/procedures/street-light-request/
  submissions` with `{"answers": ..., "submit": true}` and a fresh Idempotency-Key, as
  the phone client sends it.

wrk drives both (bench/load/lua/post.lua), at each of `--connections` for one
municipality (東御市: every submit takes the same 受付番号 counter) and at
`--spread-connections` for all 20 at once. Baseline and app runs alternate, `--repeat`
rounds; the medians are printed next to each other with the ratio, with the machine's
load average. The database is checked afterwards: 受付番号 gap-free per municipality and
fiscal year. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import yaml

from app.db import make_engine, make_session_factory
from app.forms.definition import ProcedureDefinition
from app.forms.service import CATALOG_DIR, load_catalog
from app.municipalities.codes import check_digit
from app.municipalities.service import MunicipalitySeed, upsert_municipality
from bench.bare_app import CREATE_BASELINE_TABLE, INSERT_PATH
from bench.harness import Database, scratch_database
from bench.load.common import load_average, median_figures, uvicorn_workers
from bench.load.wrk import WrkFigures, run_wrk
from tests.forms.sample_answers import sample_answers_without_files

PROCEDURE = "street-light-request"
ANSWER_VARIANTS = 50
BASELINE_BODY = {"answers": {"requester": "self", "copies": 2}, "submit": True}

# 長野県's cities (and 軽井沢町): first five digits of the 全国地方公共団体コード; the
# check digit is computed, so every code is valid. 東御市 (20219 -> 202193) comes first.
NAGANO = (
    ("20219", "東御市", "TOMI"),
    ("20201", "長野市", "NAGANO"),
    ("20202", "松本市", "MATSU"),
    ("20203", "上田市", "UEDA"),
    ("20204", "岡谷市", "OKAYA"),
    ("20205", "飯田市", "IIDA"),
    ("20206", "諏訪市", "SUWA"),
    ("20207", "須坂市", "SUZAKA"),
    ("20208", "小諸市", "KOMORO"),
    ("20209", "伊那市", "INA"),
    ("20210", "駒ヶ根市", "KOMAGANE"),
    ("20211", "中野市", "NAKANO"),
    ("20212", "大町市", "OMACHI"),
    ("20213", "飯山市", "IIYAMA"),
    ("20214", "茅野市", "CHINO"),
    ("20215", "塩尻市", "SHIOJIRI"),
    ("20217", "佐久市", "SAKU"),
    ("20218", "千曲市", "CHIKUMA"),
    ("20220", "安曇野市", "AZUMINO"),
    ("20321", "軽井沢町", "KARUI"),
)
MUNICIPALITIES = tuple(
    MunicipalitySeed(
        code=f"{five}{check_digit(five)}",
        name_ja=name,
        name_en=prefix.title(),
        prefecture_ja="長野県",
        reference_prefix=prefix,
        settings={},
    )
    for five, name, prefix in NAGANO
)


@dataclass(frozen=True)
class Load:
    label: str
    requests_file: str
    connections: int


async def _seed(database: Database) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(
        (CATALOG_DIR / f"{PROCEDURE}.yaml").read_text(encoding="utf-8")
    )
    engine = make_engine(database.url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            for municipality in MUNICIPALITIES:
                await upsert_municipality(session, municipality)
                await load_catalog(session, municipality.code, [raw], now=datetime.now(UTC))
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(database.dsn)
    try:
        await connection.execute(CREATE_BASELINE_TABLE)
    finally:
        await connection.close()
    return raw


def _write_requests(directory: Path, definition_data: dict[str, Any]) -> dict[str, Path]:
    """The request files for post.lua: one "path<TAB>body" per line."""
    definition = ProcedureDefinition.model_validate(definition_data)
    bodies = [
        json.dumps(
            # Created and submitted at once: no uploads exist yet to name.
            {"answers": sample_answers_without_files(definition, seed), "submit": True},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for seed in range(ANSWER_VARIANTS)
    ]

    def path_of(code: str) -> str:
        return f"/api/v1/municipalities/{code}/procedures/{PROCEDURE}/submissions"

    files = {
        "baseline": [f"{INSERT_PATH}\t{json.dumps(BASELINE_BODY)}"],
        "one": [f"{path_of(MUNICIPALITIES[0].code)}\t{body}" for body in bodies],
        # Interleaved, so consecutive requests go to different municipalities.
        "spread": [
            f"{path_of(municipality.code)}\t{body}"
            for body in bodies
            for municipality in MUNICIPALITIES
        ],
    }
    paths = {}
    for name, lines in files.items():
        paths[name] = directory / f"{name}.tsv"
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


async def _wrk(url: str, requests: Path, connections: int, seconds: float, run: str) -> WrkFigures:
    return await run_wrk(
        url,
        "post.lua",
        connections=connections,
        threads=min(2, connections),
        seconds=seconds,
        env={"WRK_REQUESTS": str(requests), "WRK_RUN_ID": run},
    )


async def _gap_free(dsn: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        series = await connection.fetch(
            "SELECT municipality_code, fiscal_year, count(*) AS issued, "
            "min(substring(reference_number from '[0-9]+$')::int) AS low, "
            "max(substring(reference_number from '[0-9]+$')::int) AS high, "
            "count(DISTINCT reference_number) AS distinct_numbers "
            "FROM submissions WHERE reference_number IS NOT NULL "
            "GROUP BY municipality_code, fiscal_year"
        )
        counters = {
            (row["municipality_code"], row["fiscal_year"]): row["last_value"]
            for row in await connection.fetch(
                "SELECT municipality_code, fiscal_year, last_value FROM reference_counters"
            )
        }
    finally:
        await connection.close()
    broken = [
        f"{row['municipality_code']}/{row['fiscal_year']}"
        for row in series
        if not (
            row["low"] == 1
            and row["high"] == row["issued"] == row["distinct_numbers"]
            and counters.get((row["municipality_code"], row["fiscal_year"])) == row["issued"]
        )
    ]
    issued = sum(row["issued"] for row in series)
    return f"{issued} reference numbers issued in {len(series)} series: " + (
        "gap-free" if not broken else f"NOT gap-free in {', '.join(broken)}"
    )


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    loads = [Load("1 municipality", "one", c) for c in arguments.connections] + [
        Load("20 municipalities", "spread", c) for c in arguments.spread_connections
    ]
    figures: dict[str, dict[str, list[WrkFigures]]] = {
        f"{load.label}, c={load.connections}": {"baseline": [], "app": []} for load in loads
    }
    load_averages: list[tuple[float, float, float]] = [os.getloadavg()]
    async with scratch_database("madoguchi_bench_load") as database:
        definition = await _seed(database)
        with tempfile.TemporaryDirectory(prefix="madoguchi-bench-load-") as directory:
            files = _write_requests(Path(directory), definition)
            env = {"DATABASE_URL": database.url, "BENCH_BASELINE_DSN": database.dsn}
            with (
                uvicorn_workers(
                    "bench.bare_app:create_insert_app", env=env, workers=arguments.workers
                ) as baseline,
                uvicorn_workers("app.main:create_app", env=env, workers=arguments.workers) as app,
            ):
                print(
                    f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
                    f"{arguments.workers} workers per server, {arguments.seconds:.0f} s per "
                    f"run, {arguments.repeat} rounds; load average {load_average()}"
                )
                # Warm-up: pools, compiled forms, counter rows, PostgreSQL's caches.
                await _wrk(baseline.url, files["baseline"], 16, 3, "warm")
                await _wrk(app.url, files["spread"], 16, 3, "warm")
                for round_number in range(arguments.repeat):
                    for load in loads:
                        key = f"{load.label}, c={load.connections}"
                        run_id = f"r{round_number}-{load.requests_file}-{load.connections}"
                        base = await _wrk(
                            baseline.url,
                            files["baseline"],
                            load.connections,
                            arguments.seconds,
                            run_id,
                        )
                        ours = await _wrk(
                            app.url,
                            files[load.requests_file],
                            load.connections,
                            arguments.seconds,
                            run_id,
                        )
                        figures[key]["baseline"].append(base)
                        figures[key]["app"].append(ours)
                        print(f"  round {round_number + 1} {key:<26} baseline {base.line()}")
                        print(f"  round {round_number + 1} {key:<26} app      {ours.line()}")
                    load_averages.append(os.getloadavg())
                    print(f"  load average after round {round_number + 1}: {load_average()}")
        gap_free = await _gap_free(database.dsn)

    print()
    print(
        f"Medians of {arguments.repeat} rounds (create+submit of {PROCEDURE} vs the bare "
        "insert; ratio = app / baseline req/s)"
    )
    header = (
        f"{'load':<26} {'baseline req/s':>14} {'p50':>7} {'p99':>7} | "
        f"{'app req/s':>9} {'p50':>7} {'p99':>8} {'non-2xx':>7} {'sock err':>8} | ratio"
    )
    print(header)
    summary: dict[str, Any] = {}
    for key, sides in figures.items():
        base_median = median_figures(sides["baseline"])
        app_median = median_figures(sides["app"])
        ratio = app_median["req_s"] / base_median["req_s"] if base_median["req_s"] else 0.0
        print(
            f"{key:<26} {base_median['req_s']:14.1f} {base_median['p50_ms']:7.1f} "
            f"{base_median['p99_ms']:7.1f} | "
            f"{app_median['req_s']:9.1f} {app_median['p50_ms']:7.1f} {app_median['p99_ms']:8.1f} "
            f"{app_median['non_2xx']:7.0f} {app_median['socket_errors']:8.0f} | {ratio:5.1%}"
        )
        summary[key] = {
            "baseline": base_median,
            "app": app_median,
            "ratio": round(ratio, 4),
            "runs": {side: [r.as_dict() for r in runs] for side, runs in sides.items()},
        }
    baseline_errors = sum(
        side["baseline"]["non_2xx"] + side["baseline"]["socket_errors"] for side in summary.values()
    )
    print(
        f"(ms; non-2xx and socket errors summed over the rounds; baseline: {baseline_errors:.0f})"
    )
    print(gap_free)
    print(f"load average (1/5/15 min) at start and after each round: {load_averages}")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "workers": arguments.workers,
        "seconds": arguments.seconds,
        "rounds": arguments.repeat,
        "load_averages": load_averages,
        "gap_free": gap_free,
        "loads": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--spread-connections", type=int, nargs="*", default=[64])
    parser.add_argument("--json", type=Path, help="also write every figure here")
    arguments = parser.parse_args()
    result = asyncio.run(run(arguments))
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
