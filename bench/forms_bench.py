"""The form engine: validation and compile time, and catalog GET throughput.

    .venv/bin/python -m bench.forms_bench [--requests 3000] [--concurrency 32]

Prints, all measured in this one run:
- validation of one complete submission (normalise + validate + fee) against the
  largest catalog form and against a generated 200-field form: median µs, next to a
  bare baseline (pydantic validating a 10-field model) measured alongside;
- compile time of each (definition -> JSON Schema + validator), median ms;
- `GET /api/v1/municipalities/{code}/procedures/{procedure}` throughput and p50/p99 on
  a seeded SQLite database under uvicorn, next to a bare FastAPI endpoint returning the
  same JSON from memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from app.forms.compiler import check_definition, compile_definition
from app.forms.service import read_catalog_directory
from app.jp_calendar import local_date
from bench.harness import closed_loop, median_us, time_calls, uvicorn_server
from tests.forms.sample_answers import sample_answers

NOW = datetime.now(UTC)
"""The day the catalog's relative date bounds (today-18y ...) are resolved for."""
FIELD_TYPES_FOR_LARGE_FORM = ["text", "integer", "date", "select", "checkbox", "email"]


def generated_definition(field_count: int) -> dict[str, Any]:
    """A form of `field_count` fields over 10 steps, every 5th field conditional."""
    steps = []
    per_step = field_count // 10
    for step_index in range(10):
        fields: list[dict[str, Any]] = []
        for offset in range(per_step):
            index = step_index * per_step + offset
            kind = FIELD_TYPES_FOR_LARGE_FORM[index % len(FIELD_TYPES_FOR_LARGE_FORM)]
            field: dict[str, Any] = {
                "key": f"f{index:03d}",
                "type": kind,
                "label": {"ja": f"項目{index}", "en": f"Field {index}"},
                "required": True,
            }
            if kind == "select":
                field["options"] = [{"value": v, "label": {"ja": v}} for v in ("a", "b", "c", "d")]
            if kind == "integer":
                field.update(minimum=0, maximum=1000)
            if index % 5 == 4 and offset > 0:
                previous = fields[-1]
                if previous["type"] == "checkbox":
                    field["when"] = {"field": previous["key"], "equals": True}
            fields.append(field)
        steps.append(
            {"key": f"s{step_index}", "title": {"ja": f"手順{step_index}"}, "fields": fields}
        )
    return {
        "code": "generated-200",
        "title": {"ja": "生成された200項目の様式"},
        "department": {"ja": "情報政策課"},
        "steps": steps,
    }


class BaselineModel(BaseModel):
    name: str
    kana: str
    birth_date: str
    postal_code: str
    prefecture: str
    city: str
    phone: str
    email: str
    copies: int
    consent: bool


BASELINE_PAYLOAD = {
    "name": "東御 花子",
    "kana": "トウミ ハナコ",
    "birth_date": "1985-02-28",
    "postal_code": "3890517",
    "prefecture": "長野県",
    "city": "東御市",
    "phone": "0268-62-1111",
    "email": "hanako@example.jp",
    "copies": 2,
    "consent": True,
}


def field_count(definition: Any) -> int:
    return sum(
        1 + len(getattr(field, "fields", [])) for step in definition.steps for field in step.fields
    )


def validation_figures(repeat: int) -> None:
    catalog = [check_definition(d) for d in read_catalog_directory()]
    largest = max(catalog, key=field_count)
    generated = check_definition(generated_definition(200))
    baseline = time_calls(lambda: BaselineModel.model_validate(BASELINE_PAYLOAD), repeat=repeat)
    print(f"bare baseline: pydantic, 10 fields            median {median_us(baseline):9.1f} µs")
    for label, definition in (
        (f"largest catalog form ({largest.code}, {field_count(largest)} fields)", largest),
        ("generated form (200 fields)", generated),
    ):
        compile_samples = time_calls(partial(compile_definition, definition), repeat=50)
        form = compile_definition(definition)
        answers = sample_answers(definition, seed=7, today=local_date(NOW))
        assert form.validate(answers, now=NOW).ok

        def validate_and_price(form: Any = form, answers: dict[str, Any] = answers) -> None:
            result = form.validate(answers, now=NOW)
            form.calculate_fee(result.answers)

        samples = time_calls(validate_and_price, repeat=repeat)
        ratio = median_us(samples) / median_us(baseline)
        print(
            f"{label:<46} validate+fee median {median_us(samples):9.1f} µs (x{ratio:.1f} "
            f"baseline)   compile median {median_us(compile_samples) / 1000:7.2f} ms"
        )


async def catalog_throughput(requests: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        database_url = f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
        for module in (["alembic", "upgrade", "heads"], ["app.seed"]):
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", *module, env=env, stdout=asyncio.subprocess.DEVNULL
            )
            if await process.wait() != 0:
                raise RuntimeError(f"{' '.join(module)} failed")
        path = "/api/v1/municipalities/202193/procedures/juminhyo-copy"
        with uvicorn_server("app.main:create_app", factory=True, env=env) as url:
            async with httpx.AsyncClient(base_url=url) as client:
                detail = (await client.get(path)).json()
            app_result = await closed_loop(
                "catalog GET (procedure detail)",
                lambda c, _: c.get(path),
                base_url=url,
                total=requests,
                concurrency=concurrency,
            )
        payload_file = Path(directory) / "payload.json"
        payload_file.write_text(json.dumps(detail, ensure_ascii=False), encoding="utf-8")
        with uvicorn_server(
            "bench.bare_app:create_payload_app",
            env={**env, "BENCH_PAYLOAD": str(payload_file)},
            factory=True,
        ) as url:
            bare_result = await closed_loop(
                "bare FastAPI (same JSON from memory)",
                lambda c, _: c.get("/payload"),
                base_url=url,
                total=requests,
                concurrency=concurrency,
            )
    print(bare_result.line())
    print(app_result.line())
    print(f"catalog GET throughput ratio: x{app_result.throughput / bare_result.throughput:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    print(f"== form engine (cpu count {os.cpu_count()})")
    validation_figures(args.repeat)
    print(f"== catalog GET, {args.requests} requests, {args.concurrency} concurrent clients")
    asyncio.run(catalog_throughput(args.requests, args.concurrency))


if __name__ == "__main__":
    main()
