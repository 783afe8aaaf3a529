"""A bare FastAPI app returning a JSON document held in memory: the baseline for GETs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

app = FastAPI()
_payload: dict[str, Any] = json.loads(Path(os.environ["BENCH_PAYLOAD"]).read_text(encoding="utf-8"))


@app.get("/payload")
async def payload() -> dict[str, Any]:
    return _payload
