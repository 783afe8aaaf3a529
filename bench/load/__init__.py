"""Load, crash and webhook-storm checks: one command each, on PostgreSQL, with several
uvicorn workers. Unlike the benchmarks next door these do assert: they exit non-zero
when a submission is lost, duplicated or half-written."""
