"""`python -m app.seed`: the two sample municipalities and their catalog (for `make run`).

Idempotent: running it again changes nothing unless a catalog file changed, in which
case that procedure gets a new published version. Outside production it also creates the
demo staff accounts (DEMO_STAFF), each once; production refuses them.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import AuditActor
from app.auth import staff_service
from app.config import get_settings
from app.db import make_engine, make_session_factory, utcnow
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


DEMO_STAFF_PASSWORD = "madoguchi-demo-only"
"""Development only: README lists these accounts; production never gets them."""

# (municipality, login id, display name, 所属課, roles)
DEMO_STAFF: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = tuple(
    (code, f"{login}@{slug}.example", name, department, roles)
    for code, slug in (("202193", "tomi"), ("202037", "ueda"))
    for login, name, department, roles in (
        ("admin", "管理者", "総務課", ("admin",)),
        ("shimin", "市民課 審査担当", "市民課", ("reviewer",)),
        ("kosodate", "子育て支援課 審査担当", "子育て支援課", ("reviewer",)),
        ("kaikei", "会計担当", "会計課", ("finance",)),
        ("tokei", "統計担当", "企画課", ("analyst",)),
    )
)


async def seed(database_url: str, *, demo_staff: bool = False) -> dict[str, dict[str, str]]:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    definitions = read_catalog_directory()
    now = utcnow()  # the command's clock: the catalog is published as of the seeding
    outcome: dict[str, dict[str, str]] = {}
    try:
        async with factory() as session, session.begin():
            for municipality in SAMPLE_MUNICIPALITIES:
                await upsert_municipality(session, municipality)
                outcome[municipality.code] = await load_catalog(
                    session, municipality.code, definitions, now=now
                )
            if demo_staff:
                await _seed_demo_staff(session)
    finally:
        await engine.dispose()
    return outcome


async def _seed_demo_staff(session: AsyncSession) -> None:
    if get_settings().environment == "production":
        raise RuntimeError("demo staff accounts are for development only")
    for code, email, name, department, roles in DEMO_STAFF:
        if await staff_service.get_staff_by_email(session, email) is None:
            await staff_service.create_staff(
                session,
                AuditActor("system", "seed"),
                municipality_code=code,
                email=email,
                display_name=name,
                department=department,
                roles=roles,
                password=DEMO_STAFF_PASSWORD,
            )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    demo_staff = settings.environment != "production"
    outcome = asyncio.run(seed(settings.database_url, demo_staff=demo_staff))
    if demo_staff:
        logger.info("demo staff accounts (development only): see README.md")
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
