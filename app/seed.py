"""`python -m app.seed`: the two sample municipalities and their catalog (for `make run`).

Idempotent: running it again changes nothing unless a catalog file changed, in which
case that procedure gets a new published version.
"""

from __future__ import annotations

import asyncio
import logging

from app.config import get_settings
from app.db import make_engine, make_session_factory
from app.forms.service import load_catalog, read_catalog_directory
from app.municipalities.service import MunicipalitySeed, upsert_municipality

logger = logging.getLogger("madoguchi.seed")

SAMPLE_MUNICIPALITIES = (
    MunicipalitySeed(
        code="202193",
        name_ja="東御市",
        name_en="Tomi City",
        prefecture_ja="長野県",
        reference_prefix="TOMI",
        # 東御市情報化推進計画: 13 procedures online in FY2021 (令和3年度).
        settings={"kpi_baseline": {"fiscal_year": 2021, "online_procedures": 13}},
    ),
    MunicipalitySeed(
        code="202037",
        name_ja="上田市",
        name_en="Ueda City",
        prefecture_ja="長野県",
        reference_prefix="UEDA",
        settings={},
    ),
)


async def seed(database_url: str) -> dict[str, dict[str, str]]:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    definitions = read_catalog_directory()
    outcome: dict[str, dict[str, str]] = {}
    try:
        async with factory() as session, session.begin():
            for municipality in SAMPLE_MUNICIPALITIES:
                await upsert_municipality(session, municipality)
                outcome[municipality.code] = await load_catalog(
                    session, municipality.code, definitions
                )
    finally:
        await engine.dispose()
    return outcome


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    outcome = asyncio.run(seed(get_settings().database_url))
    for code, procedures in outcome.items():
        changed = {name: what for name, what in procedures.items() if what != "unchanged"}
        logger.info(
            "%s: %d procedures in the catalog, %d created or updated",
            code,
            len(procedures),
            len(changed),
        )


if __name__ == "__main__":
    main()
