"""Fixtures for the KPI tests: a clock for the catalog's history, an API client standing
on a chosen day, an analyst of 東御市, and a seeded history whose every figure is
worked out by hand in `Seeded`'s docstring."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.auth.jpki.facts import Sex
from app.auth.jpki.testca import CardHolder, TestCaHome, TestCard
from app.auth.jpki.verifier import LocalVerifier
from app.config import Settings
from app.kpi import folding
from app.kpi.dependencies import kpi_today
from app.main import create_app
from app.submissions.lifecycle import Actor, Status
from tests.factories import (
    UEDA,
    create_staff,
    seed_municipalities,
    simple_definition,
    staff_headers,
)
from tests.kpi.helpers import Applications, ProcedureClock, citizen, jst

CERTIFICATE = "kpi-certificate"
"""市民課, 300 yen a copy paid online on submit, no card needed."""
SIGNED = "kpi-signed"
"""税務課, signed with the My Number card, no fee."""
ALLOWANCE = "kpi-allowance"
"""子育て支援課, collects the 個人番号 but asks for no card: not fully online."""
RETIRED = "kpi-retired"
"""市民課, published in FY2024 and retired in FY2025."""
TODAY = date(2026, 1, 15)


def signed_definition() -> dict[str, object]:
    return simple_definition(
        SIGNED,
        title={"ja": "テスト署名付き届出", "en": "Signed test notification"},
        department={"ja": "税務課", "en": "Taxation Division"},
        identity_requirement="jpki_sign",
        fee_rules=[],
    )


def allowance_definition() -> dict[str, object]:
    return simple_definition(
        ALLOWANCE,
        title={"ja": "テスト手当の請求", "en": "Test allowance claim"},
        department={"ja": "子育て支援課", "en": "Child Support Division"},
        my_number_use=True,
        my_number_legal_basis="番号法第9条第1項（テスト）",
        fee_rules=[],
    )


@dataclass
class Today:
    day: date = TODAY

    def __call__(self) -> date:
        return self.day


@pytest.fixture
def today() -> Today:
    return Today()


@asynccontextmanager
async def kpi_client(settings: Settings, today: Today) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a new app (which has kept no report yet) standing on `today`."""
    app = create_app(settings)
    app.dependency_overrides[kpi_today] = today
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


@pytest.fixture
def new_kpi_client(
    settings: Settings, today: Today
) -> Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Opens a client of another new app, e.g. to read what nothing was kept of."""
    return lambda: kpi_client(settings, today)


@pytest.fixture
async def kpi_api(
    settings: Settings, engine: AsyncEngine, today: Today
) -> AsyncIterator[httpx.AsyncClient]:
    async with kpi_client(settings, today) as client:
        yield client


@pytest.fixture
def procedure_clock(
    session_factory: async_sessionmaker[AsyncSession],
) -> ProcedureClock:
    return ProcedureClock(session_factory)


@pytest.fixture
def applications(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> Applications:
    return Applications(session_factory, settings)


@pytest.fixture
async def analyst(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> dict[str, str]:
    """Authorization headers of an analyst (統計担当) of 東御市."""
    await seed_municipalities(session_factory)
    staff = await create_staff(session_factory, roles=("analyst",), department="企画課")
    return staff_headers(settings, staff)


@pytest.fixture(scope="session")
def jpki_home(tmp_path_factory: pytest.TempPathFactory) -> TestCaHome:
    """A test CA whose CRLs are current throughout the seeded history (2024-2034)."""
    trust_dir: Path = tmp_path_factory.mktemp("kpi-jpki") / "trust"
    return TestCaHome.init(trust_dir, now=datetime(2024, 1, 1, tzinfo=UTC), crl_days=3650)


@pytest.fixture(scope="session")
def card(jpki_home: TestCaHome) -> TestCard:
    holder = CardHolder(
        name="東御　太郎",
        birth_date=date(1980, 4, 1),
        sex=Sex.MALE,
        address="長野県東御市県２８１番地２",
    )
    return jpki_home.mint_card(holder, now=datetime(2024, 6, 1, tzinfo=UTC), valid_days=3650)


@dataclass
class Seeded:
    """東御市's catalog and applications, with the figures worked out by hand.

    Catalog (Japan time):
      kpi-retired      published 2024-04-01 10:00, retired 2025-10-01 10:00
      kpi-certificate  published 2024-06-01 09:00; version 2 on 2025-07-01 09:00
      kpi-signed       published 2025-03-31 23:59 (the last minute of FY2024)
      kpi-allowance    published 2025-04-01 00:00 (the first minute of FY2025)
    FY2024 at 2025-03-31: online 3 (retired, certificate, signed), all fully online.
    FY2025 at 2026-01-15: online 3 (certificate, signed, allowance), 2 fully online,
    1 first published (allowance), 1 retired (retired).

    Applications (received; what followed; lead time receipt -> decision):
      a1  certificate online, access token, 2025-03-31 23:59 (FY2024): paid online,
          approved 2025-04-02 11:59 (36 h)
      a2  certificate online, card login, 2025-04-01 00:00 (FY2025): paid online,
          returned, resubmitted, approved 2025-04-04 12:00 (84 h)
      a3  certificate online, access token, 2025-04-10: withdrawn before paying
      c1  certificate counter, 2 copies (600 yen paid at the counter), 2025-04-15 10:00:
          approved 16:00 (6 h)
      c2  certificate counter, no answers (no fee), 2025-04-30 10:00: approved
          2025-05-01 10:00 (24 h)
      a4  certificate online, access token, 2025-05-20 12:00: paid online, rejected
          2025-05-22 12:00 (48 h)
      s1  signed online with the card, 2025-05-10 10:00: approved 2025-05-12 10:00 (48 h)
      c3  signed counter, 2025-05-12 09:00: returned, withdrawn
      Not received, so counted nowhere: a draft, and a draft withdrawn.
      上田市 has one application of its own, never in 東御市's figures.
    """

    ids: dict[str, uuid.UUID] = field(default_factory=dict)


@pytest.fixture
async def seeded(
    session_factory: async_sessionmaker[AsyncSession],
    procedure_clock: ProcedureClock,
    applications: Applications,
    jpki_home: TestCaHome,
    card: TestCard,
) -> Seeded:
    await seed_municipalities(session_factory)
    clock = procedure_clock
    await clock.publish(jst(2024, 4, 1, 10), simple_definition(RETIRED))
    await clock.publish(jst(2024, 6, 1, 9), simple_definition(CERTIFICATE))
    await clock.publish(jst(2025, 3, 31, 23, 59), signed_definition())
    await clock.publish(jst(2025, 4, 1, 0, 0), allowance_definition())
    second_version = simple_definition(CERTIFICATE)
    second_version["title"] = {"ja": "テスト証明書の交付請求（第2版）", "en": "Test certificate"}
    await clock.publish(jst(2025, 7, 1, 9), second_version)
    await clock.retire(jst(2025, 10, 1, 10), RETIRED)
    await clock.publish(jst(2024, 6, 1, 9), simple_definition(CERTIFICATE), UEDA)

    apps = applications
    seeded = Seeded()
    ids = seeded.ids

    ids["a1"] = await apps.online(CERTIFICATE, jst(2025, 3, 31, 23, 59))
    await apps.pay(ids["a1"], jst(2025, 4, 1, 9))
    await apps.move(ids["a1"], Status.IN_REVIEW, jst(2025, 4, 1, 10))
    await apps.move(ids["a1"], Status.APPROVED, jst(2025, 4, 2, 11, 59))

    owner = citizen("kpi-citizen-hanako")
    ids["a2"] = await apps.online(
        CERTIFICATE, jst(2025, 4, 1, 0, 0), {"copies": 2, "requester": "self"}, caller=owner
    )
    await apps.pay(ids["a2"], jst(2025, 4, 1, 1))
    await apps.move(ids["a2"], Status.IN_REVIEW, jst(2025, 4, 1, 9))
    await apps.move(ids["a2"], Status.RETURNED, jst(2025, 4, 2, 9), comment="通数をご確認ください")
    await apps.resubmit(ids["a2"], owner, jst(2025, 4, 3, 9))
    await apps.move(ids["a2"], Status.IN_REVIEW, jst(2025, 4, 3, 10))
    await apps.move(ids["a2"], Status.APPROVED, jst(2025, 4, 4, 12))

    ids["a3"] = await apps.online(CERTIFICATE, jst(2025, 4, 10, 12))
    await apps.move(ids["a3"], Status.WITHDRAWN, jst(2025, 4, 11, 12), Actor("citizen"))

    ids["c1"] = await apps.counter(
        CERTIFICATE, jst(2025, 4, 15, 10), {"copies": 2, "requester": "self"}
    )
    await apps.move(ids["c1"], Status.IN_REVIEW, jst(2025, 4, 15, 11))
    await apps.move(ids["c1"], Status.APPROVED, jst(2025, 4, 15, 16))

    # What came so far is folded into the daily and month rows; the rest stays as
    # deltas, so every figure below is read from both.
    await folding.fold_pending(session_factory)

    ids["c2"] = await apps.counter(CERTIFICATE, jst(2025, 4, 30, 10))
    await apps.move(ids["c2"], Status.IN_REVIEW, jst(2025, 4, 30, 11))
    await apps.move(ids["c2"], Status.APPROVED, jst(2025, 5, 1, 10))

    ids["a4"] = await apps.online(CERTIFICATE, jst(2025, 5, 20, 12))
    await apps.pay(ids["a4"], jst(2025, 5, 20, 13))
    await apps.move(ids["a4"], Status.IN_REVIEW, jst(2025, 5, 21, 9))
    await apps.move(ids["a4"], Status.REJECTED, jst(2025, 5, 22, 12), comment="対象外です")

    verifier = LocalVerifier(jpki_home.trust_dir)
    ids["s1"] = await apps.signed(SIGNED, jst(2025, 5, 10, 10), card, verifier)
    await apps.move(ids["s1"], Status.IN_REVIEW, jst(2025, 5, 10, 11))
    await apps.move(ids["s1"], Status.APPROVED, jst(2025, 5, 12, 10))

    ids["c3"] = await apps.counter(SIGNED, jst(2025, 5, 12, 9))
    await apps.move(ids["c3"], Status.IN_REVIEW, jst(2025, 5, 12, 10))
    await apps.move(ids["c3"], Status.RETURNED, jst(2025, 5, 12, 11), comment="窓口で再確認")
    await apps.move(ids["c3"], Status.WITHDRAWN, jst(2025, 5, 13, 9))

    ids["draft"], _ = await apps.draft(CERTIFICATE, jst(2025, 4, 5, 9))
    ids["withdrawn_draft"], draft_owner = await apps.draft(CERTIFICATE, jst(2025, 4, 6, 9))
    await apps.withdraw_draft(ids["withdrawn_draft"], draft_owner, jst(2025, 4, 6, 10))

    ids["ueda"] = await apps.online(CERTIFICATE, jst(2025, 4, 20, 9), municipality_code=UEDA)
    return seeded
