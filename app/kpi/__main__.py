"""`python -m app.kpi check|rebuild|fold [--municipality CODE]`: compare the KPI rollups
(daily rows plus the deltas not folded yet) with a full recount from the event history,
replace them by one (after restoring events from a backup, or once after upgrading a
database that already held applications), or fold every pending delta into the daily
rows now (all municipalities)."""

from __future__ import annotations

import argparse
import asyncio
import json

from app.commands import command_database
from app.config import get_settings
from app.kpi import folding, rollups


async def _run(command: str, municipality_code: str | None) -> dict[str, object]:
    async with command_database(get_settings().database_url) as factory:
        if command == "fold":
            return {"folded": await folding.fold_pending(factory)}
        async with factory() as session, session.begin():
            if command == "rebuild":
                snapshot = await rollups.rebuild(session, municipality_code)
                return {"rebuilt": True, "usage_rows": len(snapshot.usage)}
            recount = await rollups.recount(session, municipality_code)
            stored = await rollups.stored(session, municipality_code)
            return {"consistent": recount == stored, "usage_rows": len(stored.usage)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.kpi")
    parser.add_argument("command", choices=["check", "rebuild", "fold"])
    parser.add_argument("--municipality", help="全国地方公共団体コード; all when left out")
    arguments = parser.parse_args(argv)
    outcome = asyncio.run(_run(arguments.command, arguments.municipality))
    print(json.dumps(outcome, ensure_ascii=False))
    return 0 if outcome.get("consistent", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
