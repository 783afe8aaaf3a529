"""The public catalog: what a citizen's phone (or any form renderer) reads."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import jsonschema
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.forms import service
from tests.factories import TOMI, UEDA, seed_catalog, seed_municipalities, simple_definition

PROBLEM = "application/problem+json"


async def test_lists_both_sample_municipalities(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await seed_municipalities(session_factory)
    response = await client.get("/api/v1/municipalities")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    names = {item["code"]: item["name"]["ja"] for item in body["items"]}
    assert names == {TOMI: "東御市", UEDA: "上田市"}
    assert response.headers["x-request-id"]


async def test_catalog_lists_published_procedures_with_fee_summary(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await seed_catalog(session_factory)
    response = await client.get(f"/api/v1/municipalities/{TOMI}/procedures")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == len(body["items"]) >= 15
    by_code = {item["code"]: item for item in body["items"]}
    juminhyo = by_code["juminhyo-copy"]
    assert juminhyo["title"]["ja"].startswith("住民票の写し")
    assert "300円" in juminhyo["fee_summary"]["ja"]
    assert juminhyo["identity_requirement"] in {"none", "jpki_auth", "jpki_sign"}
    assert juminhyo["department"]["ja"]
    assert juminhyo["version"] == 1
    assert by_code["child-allowance-claim"]["my_number_use"] is True


async def test_procedure_detail_has_definition_schema_and_cache_headers(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await seed_catalog(session_factory)
    url = f"/api/v1/municipalities/{UEDA}/procedures/dog-registration"
    response = await client.get(url)
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "dog-registration"
    assert body["version"] == 1
    assert body["title"]["ja"]
    definition = body["definition"]
    for key in ("identity_requirement", "payment_timing", "fee_rules", "steps"):
        assert key in definition
    assert body["fee_rules"] == definition["fee_rules"]
    jsonschema.Draft202012Validator.check_schema(body["json_schema"])
    assert body["json_schema"]["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    etag = response.headers["etag"]
    assert "max-age" in response.headers["cache-control"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


async def test_unknown_municipality_and_procedure_are_404_problems(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await seed_catalog(session_factory, codes=(TOMI,))
    unknown_city = await client.get("/api/v1/municipalities/131016/procedures")
    assert unknown_city.status_code == 404
    assert unknown_city.headers["content-type"] == PROBLEM
    assert unknown_city.json()["code"] == "MUNICIPALITY_NOT_FOUND"
    assert unknown_city.json()["detail_ja"]

    unknown_procedure = await client.get(f"/api/v1/municipalities/{TOMI}/procedures/nothing")
    assert unknown_procedure.status_code == 404
    assert unknown_procedure.json()["code"] == "PROCEDURE_NOT_FOUND"

    bad_check_digit = await client.get("/api/v1/municipalities/202190/procedures")
    assert bad_check_digit.status_code == 422
    assert bad_check_digit.json()["code"] == "MUNICIPALITY_CODE_INVALID"
    assert "検査数字" in bad_check_digit.json()["detail_ja"]


async def test_scoping_a_procedure_of_one_city_is_not_visible_in_the_other(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await seed_catalog(session_factory, codes=(TOMI,))
    async with session_factory() as session, session.begin():
        _, version = await service.create_procedure(session, UEDA, simple_definition("ueda-only"))
        await service.publish_version(session, version, now=datetime.now(UTC))
    ueda = (await client.get(f"/api/v1/municipalities/{UEDA}/procedures")).json()
    tomi = (await client.get(f"/api/v1/municipalities/{TOMI}/procedures")).json()
    assert [item["code"] for item in ueda["items"]] == ["ueda-only"]
    assert "ueda-only" not in {item["code"] for item in tomi["items"]}
    response = await client.get(f"/api/v1/municipalities/{TOMI}/procedures/ueda-only")
    assert response.status_code == 404


async def test_new_version_becomes_current_and_retired_leaves_the_catalog(
    client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await seed_municipalities(session_factory)
    url = f"/api/v1/municipalities/{TOMI}/procedures/test-certificate"
    async with session_factory() as session, session.begin():
        procedure, version = await service.create_procedure(session, TOMI, simple_definition())
        await service.publish_version(session, version, now=datetime.now(UTC))
    first = await client.get(url)
    assert first.json()["version"] == 1

    changed = simple_definition()
    changed["fee_rules"][0]["unit_price"] = 350
    async with session_factory() as session, session.begin():
        procedure = await service.get_procedure(session, TOMI, "test-certificate")
        draft = await service.add_version(session, procedure, changed)
    # A draft is not visible to citizens.
    assert (await client.get(url)).json()["version"] == 1

    async with session_factory() as session, session.begin():
        draft = await service.get_version(session, draft.id)
        await service.publish_version(session, draft, now=datetime.now(UTC))
    second = await client.get(url)
    assert second.json()["version"] == 2
    assert second.json()["fee_rules"][0]["unit_price"] == 350
    assert second.headers["etag"] != first.headers["etag"]

    async with session_factory() as session, session.begin():
        procedure = await service.get_procedure(session, TOMI, "test-certificate")
        await service.retire_procedure(session, procedure, now=datetime.now(UTC))
    assert (await client.get(url)).status_code == 404
    listing = (await client.get(f"/api/v1/municipalities/{TOMI}/procedures")).json()
    assert listing == {"items": [], "total": 0}
