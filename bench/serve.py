"""`python -m bench.serve module:factory`: a benchmark's app (or bare baseline) on the
production server stack, with exactly the options of `python -m app.serve`
(`HOST`, `PORT`, `WEB_CONCURRENCY`, uvloop + httptools)."""

from __future__ import annotations

import sys

import uvicorn

from app.config import get_settings
from app.serve import uvicorn_options

if __name__ == "__main__":
    uvicorn.run(sys.argv[1], factory=True, **uvicorn_options(get_settings()))
