"""Procedure management by admins: definitions in JSON or YAML, checked before they are
saved, published into the catalog and retired from it; every change audited."""

from __future__ import annotations

import httpx
import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.staff_models import StaffUser
from app.config import Settings
from tests.factories import (
    TOMI,
    create_staff,
    seed_municipalities,
    simple_definition,
    staff_headers,
)

PROCEDURES = "/api/v1/admin/procedures"


@pytest.fixture
async def admin_headers(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> dict[str, str]:
    await seed_municipalities(session_factory)
    admin: StaffUser = await create_staff(session_factory, roles=("admin",))
    return staff_headers(settings, admin)


def _yaml(definition: dict[str, object]) -> bytes:
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False).encode()


async def test_create_publish_and_retire(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post(PROCEDURES, json=simple_definition(), headers=admin_headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["code"] == "test-certificate"
    assert body["status"] == "draft"
    assert body["current_version"] is None
    assert body["department"] == {"ja": "市民課", "en": "Citizens Division"}
    assert [v["status"] for v in body["versions"]] == ["draft"]

    catalog = f"/api/v1/municipalities/{TOMI}/procedures/test-certificate"
    assert (await client.get(catalog)).status_code == 404

    published = await client.post(
        f"{PROCEDURES}/test-certificate/versions/1/publish", headers=admin_headers
    )
    assert published.status_code == 200
    assert published.json()["status"] == "published"
    assert published.json()["current_version"] == 1
    assert (await client.get(catalog)).status_code == 200

    again = await client.post(
        f"{PROCEDURES}/test-certificate/versions/1/publish", headers=admin_headers
    )
    assert again.status_code == 409
    assert again.json()["code"] == "PROCEDURE_VERSION_FROZEN"

    retired = await client.post(f"{PROCEDURES}/test-certificate/retire", headers=admin_headers)
    assert retired.status_code == 200
    assert retired.json()["status"] == "retired"
    assert retired.json()["retired_at"] is not None
    assert (await client.get(catalog)).status_code == 404

    log = await client.get(
        "/api/v1/admin/audit-log", params={"target_type": "procedure"}, headers=admin_headers
    )
    assert [entry["action"] for entry in log.json()["items"]] == [
        "procedure.retire",
        "procedure.publish",
        "procedure.create",
    ]


async def test_add_a_version_from_yaml_edit_it_and_publish(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await client.post(PROCEDURES, json=simple_definition(), headers=admin_headers)
    await client.post(f"{PROCEDURES}/test-certificate/versions/1/publish", headers=admin_headers)

    revised = simple_definition(legal_basis="改正後のテスト条例第1条")
    added = await client.post(
        f"{PROCEDURES}/test-certificate/versions",
        content=_yaml(revised),
        headers={**admin_headers, "Content-Type": "application/yaml"},
    )
    assert added.status_code == 201, added.text
    assert added.json()["version"] == 2
    assert added.json()["status"] == "draft"
    assert added.json()["definition"]["legal_basis"] == "改正後のテスト条例第1条"
    assert added.json()["json_schema"]["$schema"].endswith("2020-12/schema")

    edited = await client.put(
        f"{PROCEDURES}/test-certificate/versions/2",
        content=_yaml(simple_definition(legal_basis="再改正")),
        headers={**admin_headers, "Content-Type": "application/x-yaml; charset=utf-8"},
    )
    assert edited.status_code == 200
    assert edited.json()["definition"]["legal_basis"] == "再改正"

    frozen = await client.put(
        f"{PROCEDURES}/test-certificate/versions/1", json=revised, headers=admin_headers
    )
    assert frozen.status_code == 409

    await client.post(f"{PROCEDURES}/test-certificate/versions/2/publish", headers=admin_headers)
    detail = await client.get(f"{PROCEDURES}/test-certificate", headers=admin_headers)
    assert detail.json()["current_version"] == detail.json()["latest_version"] == 2
    catalog = await client.get(f"/api/v1/municipalities/{TOMI}/procedures/test-certificate")
    assert catalog.json()["version"] == 2

    listed = await client.get(PROCEDURES, headers=admin_headers)
    assert [item["code"] for item in listed.json()["items"]] == ["test-certificate"]
    version_one = await client.get(
        f"{PROCEDURES}/test-certificate/versions/1", headers=admin_headers
    )
    assert version_one.json()["definition"]["legal_basis"] == "テスト条例第1条"


async def test_validate_without_saving(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    valid = await client.post(
        f"{PROCEDURES}/validate",
        content=_yaml(simple_definition()),
        headers={**admin_headers, "Content-Type": "application/yaml"},
    )
    assert valid.status_code == 200
    assert valid.json()["valid"] is True
    assert valid.json()["errors"] == []
    assert "copies" in valid.json()["json_schema"]["properties"]
    assert "300円" in valid.json()["fee_summary"]["ja"]

    broken = simple_definition()
    broken["steps"][0]["fields"][2]["when"] = {"field": "no_such_field", "equals": "x"}
    invalid = await client.post(f"{PROCEDURES}/validate", json=broken, headers=admin_headers)
    assert invalid.status_code == 200
    assert invalid.json()["valid"] is False
    assert invalid.json()["json_schema"] is None
    paths = [error["path"] for error in invalid.json()["errors"]]
    assert any(path.startswith("/steps/0/fields/2/when") for path in paths)
    assert all(error["message_ja"] for error in invalid.json()["errors"])

    assert (await client.get(PROCEDURES, headers=admin_headers)).json()["total"] == 0


async def test_an_invalid_definition_is_refused_with_its_paths(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    broken = simple_definition()
    del broken["steps"][0]["fields"][0]["label"]
    response = await client.post(PROCEDURES, json=broken, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["code"] == "DEFINITION_INVALID"
    assert any(e["path"].startswith("/steps/0/fields/0") for e in response.json()["errors"])
    assert (await client.get(PROCEDURES, headers=admin_headers)).json()["total"] == 0


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("text/plain", b"code: x", 415, "DEFINITION_MEDIA_TYPE_UNSUPPORTED"),
        ("application/yaml", b"code: [unclosed", 422, "DEFINITION_BODY_INVALID"),
        ("application/yaml", b"- a list\n- not a mapping\n", 422, "DEFINITION_BODY_INVALID"),
        ("application/json", b'{"code": ', 422, "DEFINITION_BODY_INVALID"),
        # Aliases could expand a small body into a huge stored definition.
        (
            "application/yaml",
            b"a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n",
            422,
            "DEFINITION_BODY_INVALID",
        ),
        ("application/yaml", b"a: " + b"[" * 5000 + b"]" * 5000, 422, "DEFINITION_BODY_INVALID"),
        ("application/yaml", b"a: !!python/object:os.system {}\n", 422, "DEFINITION_BODY_INVALID"),
    ],
)
async def test_unreadable_bodies_are_refused(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    content_type: str,
    body: bytes,
    status: int,
    code: str,
) -> None:
    response = await client.post(
        PROCEDURES, content=body, headers={**admin_headers, "Content-Type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_yaml_dates_stay_strings(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    definition = simple_definition()
    definition["steps"][0]["fields"].append(
        {
            "key": "wanted_on",
            "type": "date",
            "label": {"ja": "希望日"},
            "minimum": "2024-04-01",
        }
    )
    text = _yaml(definition).replace(b"'2024-04-01'", b"2024-04-01")
    assert b"minimum: 2024-04-01" in text
    response = await client.post(
        f"{PROCEDURES}/validate",
        content=text,
        headers={**admin_headers, "Content-Type": "application/yaml"},
    )
    assert response.json()["valid"] is True, response.json()["errors"]
