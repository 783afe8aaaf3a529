"""Role x route matrix over the app's own route table.

Every `/api/v1/admin` route must declare exactly one access rule, and that rule must be
the one written down here: a new route without a rule, or with a rule nobody reviewed,
fails `test_every_admin_route_has_exactly_its_reviewed_rule`. The other tests then call
every route as every role, and as staff of another municipality.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.staff_access import AccessRule, declared_rules
from app.auth.staff_models import StaffRole
from app.config import Settings
from app.main import create_app
from tests.factories import (
    TOMI,
    UEDA,
    create_staff,
    publish_definition,
    seed_municipalities,
    simple_definition,
    staff_headers,
)
from tests.payments.helpers import payment_resources

ADMIN_PREFIX = "/api/v1/admin"
EVERY_ROLE = frozenset(StaffRole)
ADMIN = frozenset({StaffRole.ADMIN})
REVIEW = frozenset({StaffRole.ADMIN, StaffRole.REVIEWER})

PUBLIC_RULE = AccessRule(roles=frozenset(), public=True)
SIGNED_IN = AccessRule(roles=EVERY_ROLE)
ADMIN_ONLY = AccessRule(roles=ADMIN)
REVIEWERS = AccessRule(roles=REVIEW, department_scoped=True)
FINANCE = AccessRule(roles=frozenset({StaffRole.ADMIN, StaffRole.FINANCE}))
FEE_SETTERS = AccessRule(roles=frozenset({StaffRole.ADMIN, StaffRole.REVIEWER, StaffRole.FINANCE}))
"""Reviewers fix fees of their own department (checked in the payment service), finance all."""

REVIEWED_RULES: dict[tuple[str, str], AccessRule] = {
    ("POST", "/auth/token"): PUBLIC_RULE,
    ("POST", "/auth/logout"): SIGNED_IN,
    ("GET", "/auth/me"): SIGNED_IN,
    ("POST", "/auth/password"): SIGNED_IN,
    ("GET", "/staff"): ADMIN_ONLY,
    ("POST", "/staff"): ADMIN_ONLY,
    ("PATCH", "/staff/{staff_id}"): ADMIN_ONLY,
    ("GET", "/audit-log"): ADMIN_ONLY,
    ("GET", "/procedures"): ADMIN_ONLY,
    ("POST", "/procedures"): ADMIN_ONLY,
    ("POST", "/procedures/validate"): ADMIN_ONLY,
    ("GET", "/procedures/{procedure_code}"): ADMIN_ONLY,
    ("POST", "/procedures/{procedure_code}/versions"): ADMIN_ONLY,
    ("GET", "/procedures/{procedure_code}/versions/{version}"): ADMIN_ONLY,
    ("PUT", "/procedures/{procedure_code}/versions/{version}"): ADMIN_ONLY,
    ("POST", "/procedures/{procedure_code}/versions/{version}/publish"): ADMIN_ONLY,
    ("POST", "/procedures/{procedure_code}/retire"): ADMIN_ONLY,
    ("GET", "/submissions"): REVIEWERS,
    ("GET", "/submissions/{submission_id}"): REVIEWERS,
    ("POST", "/submissions/{submission_id}/assign"): REVIEWERS,
    ("POST", "/submissions/{submission_id}/claim"): REVIEWERS,
    ("POST", "/submissions/{submission_id}/transitions"): REVIEWERS,
    ("POST", "/submissions/{submission_id}/comments"): REVIEWERS,
    ("POST", "/submissions/{submission_id}/reveal-my-number"): REVIEWERS,
    ("POST", "/counter-submissions"): REVIEWERS,
    ("POST", "/submissions/{submission_id}/fee"): FEE_SETTERS,
    ("GET", "/submissions/{submission_id}/balance"): FEE_SETTERS,
    ("GET", "/submissions/{submission_id}/attachments"): REVIEWERS,
    ("GET", "/submissions/{submission_id}/attachments/{attachment_id}/content"): REVIEWERS,
    ("GET", "/submissions/{submission_id}/notifications"): REVIEWERS,
    ("GET", "/payments"): FINANCE,
    ("GET", "/payments/{payment_id}"): FINANCE,
    ("POST", "/payments/{payment_id}/refunds"): FINANCE,
    ("GET", "/refunds"): FINANCE,
    ("POST", "/refunds/{refund_id}/confirm"): FINANCE,
    ("GET", "/payment-alerts"): FINANCE,
    ("POST", "/payment-alerts/{alert_id}/resolve"): FINANCE,
    ("POST", "/reconciliation/runs"): FINANCE,
    ("GET", "/reconciliation/runs"): FINANCE,
    ("GET", "/reconciliation/runs/{run_id}"): FINANCE,
    ("GET", "/reconciliation/runs/{run_id}/report.csv"): FINANCE,
}
"""(method, path under /api/v1/admin) -> the rule a reviewer agreed to."""

TOMI_ONLY_PROCEDURE = "tomi-only-certificate"

VALID_BODIES: dict[tuple[str, str], dict[str, object]] = {
    ("POST", "/submissions/{submission_id}/assign"): {"assignee_id": None},
    ("POST", "/submissions/{submission_id}/transitions"): {"action": "approve"},
    ("POST", "/submissions/{submission_id}/comments"): {"body": "メモ"},
    ("POST", "/submissions/{submission_id}/reveal-my-number"): {"field": "/x", "reason": "確認"},
    ("POST", "/submissions/{submission_id}/fee"): {"quantities": {}},
    ("POST", "/payments/{payment_id}/refunds"): {
        "amount": 1,
        "reason": "確認",
        "expected_refundable_amount": 1,
    },
    ("POST", "/payment-alerts/{alert_id}/resolve"): {"resolution": "確認済み"},
}
"""Bodies that pass validation, so a cross-municipality request reaches the lookup."""


@dataclass(frozen=True)
class AdminRoute:
    method: str
    path: str
    """Under /api/v1/admin."""
    rules: tuple[AccessRule, ...]

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    def url(self, values: dict[str, str]) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            assert name in values, f"add a {name!r} resource to the matrix fixtures"
            return values[name]

        return ADMIN_PREFIX + re.sub(r"\{(\w+)\}", fill, self.path)


def admin_routes(settings: Settings) -> list[AdminRoute]:
    routes = []
    for route in iter_route_contexts(create_app(settings).routes):
        path = route.path or ""
        if not path.startswith(ADMIN_PREFIX):
            continue
        rules = tuple(declared_rules(route.dependant))
        for method in sorted(route.methods or ()):
            routes.append(AdminRoute(method, path.removeprefix(ADMIN_PREFIX), rules))
    return routes


def test_every_admin_route_has_exactly_its_reviewed_rule(settings: Settings) -> None:
    routes = admin_routes(settings)
    without_rule = [route.key for route in routes if len(route.rules) != 1]
    assert without_rule == [], "each admin route needs exactly one rule (staff_access.require)"
    declared = {route.key: route.rules[0] for route in routes}
    assert set(declared) == set(REVIEWED_RULES), "review the rule of a new or removed route here"
    assert declared == REVIEWED_RULES


@pytest.fixture
async def tomi_resources(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> dict[str, str]:
    """Path parameter values naming things that belong to 東御市 only."""
    await seed_municipalities(session_factory)
    await publish_definition(
        session_factory, TOMI, simple_definition(TOMI_ONLY_PROCEDURE, fee_rules=[])
    )
    reviewer = await create_staff(session_factory, roles=("reviewer",))
    submitted = await client.post(
        f"/api/v1/municipalities/{TOMI}/procedures/{TOMI_ONLY_PROCEDURE}/submissions",
        json={"answers": {"copies": 1, "requester": "self"}, "submit": True},
    )
    return {
        "staff_id": str(reviewer.id),
        "procedure_code": TOMI_ONLY_PROCEDURE,
        "version": "1",
        "submission_id": submitted.json()["id"],
        "attachment_id": str(uuid.uuid4()),
        **await payment_resources(client, session_factory),
    }


async def test_every_role_on_every_route(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    tomi_resources: dict[str, str],
) -> None:
    """A role outside the rule gets 403, one inside gets past authorisation (whatever the
    route then says about the empty body); no token at all gets 401."""
    staff = {role: await create_staff(session_factory, roles=(role,)) for role in StaffRole}
    for route in admin_routes(settings):
        url = route.url(tomi_resources)
        rule = REVIEWED_RULES[route.key]
        anonymous = await client.request(route.method, url, json={})
        if rule.public:
            assert anonymous.status_code not in (401, 403), route.key
            continue
        assert anonymous.status_code == 401, route.key
        for role in StaffRole:
            # A fresh token per call: the logout route revokes the one it is called with.
            headers = staff_headers(settings, staff[role])
            response = await client.request(route.method, url, json={}, headers=headers)
            if role in rule.roles:
                assert response.status_code not in (401, 403), (route.key, role, response.text)
            else:
                assert response.status_code == 403, (route.key, role, response.text)
                assert response.json()["code"] == "STAFF_FORBIDDEN"


async def test_another_municipality_gets_404_everywhere(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    tomi_resources: dict[str, str],
) -> None:
    """Staff of 上田市 holding every role ask for 東御市's things by id: each route answers
    404, never 403, so they cannot even learn that the thing exists."""
    ueda_staff = await create_staff(session_factory, municipality_code=UEDA, roles=tuple(StaffRole))
    headers = {**staff_headers(settings, ueda_staff), "If-Match": '"1"'}
    checked = 0
    for route in admin_routes(settings):
        if "{" not in route.path:
            continue
        response = await client.request(
            route.method,
            route.url(tomi_resources),
            json=VALID_BODIES.get(route.key, {}),
            headers=headers,
        )
        assert response.status_code == 404, (route.key, response.text)
        checked += 1
    assert checked == sum("{" in path for _, path in REVIEWED_RULES)

    listed_staff = await client.get(f"{ADMIN_PREFIX}/staff", headers=headers)
    assert {item["municipality_code"] for item in listed_staff.json()["items"]} == {UEDA}
    listed_procedures = await client.get(f"{ADMIN_PREFIX}/procedures", headers=headers)
    codes = {item["code"] for item in listed_procedures.json()["items"]}
    assert TOMI_ONLY_PROCEDURE not in codes
    listed_submissions = await client.get(f"{ADMIN_PREFIX}/submissions", headers=headers)
    assert listed_submissions.json()["total"] == 0
    counter = await client.post(
        f"{ADMIN_PREFIX}/counter-submissions",
        json={"procedure_code": TOMI_ONLY_PROCEDURE, "received_at": "2026-04-01T09:00:00+09:00"},
        headers=headers,
    )
    assert counter.status_code == 404
