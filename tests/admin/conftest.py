"""Fixtures for the staff review tests: 東御市 (and 上田市) offering small procedures of
two departments, staff of each kind, and applications submitted through the citizen API."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.staff_models import StaffUser
from app.config import Settings
from app.forms.jp import my_number_check_digit
from tests.factories import (
    TOMI,
    UEDA,
    create_staff,
    publish_definition,
    seed_municipalities,
    simple_definition,
    staff_headers,
)

SHIMIN = "市民課"
KOSODATE = "子育て支援課"
CERTIFICATE = "review-certificate"
"""市民課, no fee: submitting makes it `submitted`, ready for review."""
ALLOWANCE = "review-allowance"
"""子育て支援課, 番号利用事務: asks for the applicant's and each child's My Number."""
CERTIFICATE_ANSWERS = {"copies": 1, "requester": "self"}


def my_number(first_eleven: str) -> str:
    """A 個人番号 with a valid check digit."""
    return first_eleven + str(my_number_check_digit(first_eleven))


APPLICANT_MY_NUMBER = my_number("12345678901")
CHILD_MY_NUMBER = my_number("98765432109")


def allowance_definition() -> dict[str, Any]:
    return simple_definition(
        ALLOWANCE,
        title={"ja": "テスト手当の請求", "en": "Test allowance claim"},
        department={"ja": KOSODATE, "en": "Child Support Division"},
        my_number_use=True,
        my_number_legal_basis="番号法第9条第1項（テスト）",
        fee_rules=[],
        steps=[
            {
                "key": "claim",
                "title": {"ja": "請求者", "en": "Claimant"},
                "fields": [
                    {
                        "key": "applicant_my_number",
                        "type": "my_number",
                        "label": {"ja": "個人番号"},
                        "required": True,
                    },
                    {
                        "key": "children",
                        "type": "group",
                        "label": {"ja": "児童"},
                        "min_items": 1,
                        "fields": [
                            {"key": "name", "type": "text", "label": {"ja": "氏名"}},
                            {"key": "my_number", "type": "my_number", "label": {"ja": "個人番号"}},
                        ],
                    },
                ],
            }
        ],
    )


def allowance_answers() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "applicant_my_number": APPLICANT_MY_NUMBER,
            "children": [
                {"name": "東御 花子", "my_number": CHILD_MY_NUMBER},
                {"name": "東御 太郎"},
            ],
        }
    )


@dataclass(frozen=True)
class Staff:
    admin: StaffUser
    shimin: StaffUser
    """Reviewer of 市民課."""
    kosodate: StaffUser
    """Reviewer of 子育て支援課."""
    finance: StaffUser
    ueda_admin: StaffUser


PUBLISHED_DAYS_AGO = 800
"""Before the previous 年度 began, whatever today is: counter applications may be dated
anywhere in this and the previous fiscal year."""


@pytest.fixture
async def procedures(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await seed_municipalities(session_factory)
    published = datetime.now(UTC) - timedelta(days=PUBLISHED_DAYS_AGO)
    for code in (TOMI, UEDA):
        await publish_definition(
            session_factory, code, simple_definition(CERTIFICATE, fee_rules=[]), now=published
        )
        await publish_definition(session_factory, code, allowance_definition(), now=published)


@pytest.fixture
async def staff(procedures: None, session_factory: async_sessionmaker[AsyncSession]) -> Staff:
    return Staff(
        admin=await create_staff(session_factory, roles=("admin",), department="総務課"),
        shimin=await create_staff(session_factory, roles=("reviewer",), department=SHIMIN),
        kosodate=await create_staff(session_factory, roles=("reviewer",), department=KOSODATE),
        finance=await create_staff(session_factory, roles=("finance",), department="会計課"),
        ueda_admin=await create_staff(
            session_factory, municipality_code=UEDA, roles=("admin",), department="総務課"
        ),
    )


class StaffClient:
    """The API as one staff member sees it: a fresh token on every call."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings, staff: StaffUser) -> None:
        self.client, self.settings, self.staff = client, settings, staff

    async def request(
        self, method: str, path: str, *, if_match: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**staff_headers(self.settings, self.staff), **kwargs.pop("headers", {})}
        if if_match is not None:
            headers["If-Match"] = if_match
        return await self.client.request(method, f"/api/v1/admin{path}", headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def etag(self, submission_id: str) -> str:
        response = await self.get(f"/submissions/{submission_id}")
        assert response.status_code == 200, response.text
        return response.headers["etag"]


@pytest.fixture
def as_staff(client: httpx.AsyncClient, settings: Settings, staff: Staff) -> Any:
    def make(member: StaffUser) -> StaffClient:
        return StaffClient(client, settings, member)

    return make


async def submit_online(
    client: httpx.AsyncClient,
    procedure_code: str,
    answers: dict[str, Any],
    *,
    municipality_code: str = TOMI,
) -> dict[str, Any]:
    """An application submitted by a citizen; returns the receipt with its access token."""
    response = await client.post(
        f"/api/v1/municipalities/{municipality_code}/procedures/{procedure_code}/submissions",
        json={"answers": answers, "submit": True},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
