"""My Number card verification: verifications per second against a 100,000-entry CRL,
and what the card adds to login and submit latency.

    .venv/bin/python -m bench.jpki_bench [--crl-entries 100000] [--verifications 3000]
                                         [--requests 200] [--database-url URL]

- A test CA is made in a temporary trust directory and one of its CRLs gets
  `--crl-entries` revoked serials (built once, timed). The trust store is loaded (timed:
  the CRL becomes a compact index, so each revocation check is a short binary search).
  J-LIS-sized CRLs and reloads under load: `bench/crl_bench.py`.
- Verifications/second, single thread, the verifier's full path (DER parse, chain by the
  CA's signature, validity, key usage, policy, revocation, the signature itself; for
  the signing certificate also the 4 facts) next to the floor (one bare RSA-2048
  PKCS#1 v1.5 verify) and to the same path with an empty CRL.
- Through the app, in process (httpx ASGI transport), on a migrated SQLite file (or
  `--database-url`): login (challenge + signed login), and submit with and without
  the card signature (signed: signing document + signed submit) on drafts made
  beforehand. Medians and p90 of `--requests` each.

Prints figures; never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import platform
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from alembic.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from app.auth.jpki.facts import Sex
from app.auth.jpki.testca import CardHolder, RevokedEntry, TestCaHome, TestCard, issue_crl
from app.auth.jpki.verifier import CertificateKind, SignedData, TrustStore, check
from app.config import Settings
from app.db import make_engine, make_session_factory, utcnow
from app.forms.service import load_catalog
from app.main import create_app
from app.municipalities.service import upsert_municipality
from app.seed import SAMPLE_MUNICIPALITIES
from bench.harness import PROJECT_ROOT

AUTH = CertificateKind.AUTHENTICATION
SIGN = CertificateKind.SIGNING
DOCUMENT = b'{"answers":{"copies":2,"requester":"self"},"procedure_code":"bench"}'
ANSWERS = {"applicant_name": "東御 花子", "copies": 2}
TOMI = "202193"
UNSIGNED, SIGNED = "bench-unsigned", "bench-signed"
HOLDER = CardHolder("東御　花子", date(1985, 4, 1), Sex.FEMALE, "長野県東御市県２８１番地２")


def build_large_crl(home: TestCaHome, entries: int) -> float:
    """Replace the newest signing CA's CRL with one of `entries` revoked serials."""
    authority = home.authority(SIGN)
    now = utcnow()
    reasons = [x509.ReasonFlags.affiliation_changed, x509.ReasonFlags.key_compromise]
    started = time.perf_counter()
    revoked = [
        RevokedEntry(x509.random_serial_number(), reasons[index % 2], now - timedelta(days=1))
        for index in range(entries)
    ]
    crl = issue_crl(authority, revoked, this_update=now, number=2)
    (home.trust_dir / f"{authority.stem}.crl").write_bytes(
        crl.public_bytes(serialization.Encoding.PEM)
    )
    return time.perf_counter() - started


def per_second(function: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        function()
    return count / (time.perf_counter() - started)


def verifier_figures(
    store: TrustStore, empty_store: TrustStore, card: TestCard, count: int, crl_label: str
) -> None:
    now = utcnow()
    auth_der, sign_der = card.certificate_der(AUTH), card.certificate_der(SIGN)
    auth_signature, sign_signature = card.sign(AUTH, DOCUMENT), card.sign(SIGN, DOCUMENT)
    public_key = card.signing_certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)

    def bare() -> None:
        public_key.verify(sign_signature, DOCUMENT, padding.PKCS1v15(), hashes.SHA256())

    def full(trust: TrustStore, kind: CertificateKind) -> Callable[[], object]:
        certificate, signature = (
            (auth_der, auth_signature) if kind is AUTH else (sign_der, sign_signature)
        )
        signed = SignedData(certificate, DOCUMENT, signature)
        return lambda: check(trust, signed, kind=kind, now=now)

    floor = per_second(bare, count)
    rows = [
        ("floor: one bare RSA-2048 PKCS#1 v1.5 verify", floor),
        (f"full check, signing cert, {crl_label} CRL", per_second(full(store, SIGN), count)),
        ("full check, signing cert, empty CRL", per_second(full(empty_store, SIGN), count)),
        ("full check, auth cert (login)", per_second(full(store, AUTH), count)),
    ]
    print(f"\nVerifications per second (single thread, {count} each)")
    for label, rate in rows:
        print(f"  {label:<46} {rate:10.0f} /s   {1_000_000 / rate:8.1f} µs each")


def migrate(database_url: str) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    with ThreadPoolExecutor(max_workers=1) as pool:  # Alembic's env runs its own loop
        pool.submit(command.upgrade, config, "heads").result()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def summary(label: str, samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    return f"  {label:<46} median {statistics.median(ordered):7.2f} ms   p90 {p90:7.2f} ms"


async def timed(operation: Callable[[], Awaitable[object]], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await operation()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def procedure(code: str, identity_requirement: str) -> dict[str, Any]:
    return {
        "code": code,
        "title": {"ja": "ベンチマーク用証明書の交付請求", "en": "Benchmark certificate"},
        "department": {"ja": "市民課", "en": "Citizens Division"},
        "identity_requirement": identity_requirement,
        "fee_rules": [
            {
                "kind": "per_unit",
                "key": "copy_fee",
                "label": {"ja": "交付手数料", "en": "Issuance fee"},
                "unit_price": 300,
                "quantity_field": "copies",
            }
        ],
        "steps": [
            {
                "key": "request",
                "title": {"ja": "請求内容", "en": "Request"},
                "fields": [
                    {
                        "key": "applicant_name",
                        "type": "text",
                        "label": {"ja": "氏名", "en": "Name"},
                        "required": True,
                        "prefill": "name",
                    },
                    {
                        "key": "copies",
                        "type": "integer",
                        "label": {"ja": "通数", "en": "Copies"},
                        "required": True,
                        "minimum": 1,
                        "maximum": 10,
                    },
                ],
            }
        ],
    }


async def seed(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    async with make_session_factory(engine)() as session, session.begin():
        for municipality in SAMPLE_MUNICIPALITIES:
            await upsert_municipality(session, municipality)
        await load_catalog(
            session,
            TOMI,
            [procedure(UNSIGNED, "none"), procedure(SIGNED, "jpki_sign")],
            now=datetime.now(UTC),
        )
    await engine.dispose()


async def alternated(
    first: Callable[[], Awaitable[object]], second: Callable[[], Awaitable[object]], count: int
) -> tuple[list[float], list[float]]:
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(count):
        for operation, into in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            await operation()
            into.append((time.perf_counter() - started) * 1000)
    return samples


async def http_figures(settings: Settings, card: TestCard, requests: int, crl_label: str) -> None:
    await seed(settings)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as api:

        async def challenge_only() -> None:
            response = await api.post("/api/v1/auth/jpki/challenge")
            response.raise_for_status()

        async def login() -> None:
            issued = (await api.post("/api/v1/auth/jpki/challenge")).json()
            nonce = issued["nonce"]
            response = await api.post(
                "/api/v1/auth/jpki/login",
                json={
                    "nonce": nonce,
                    "challenge_secret": issued["challenge_secret"],
                    "certificate": b64(card.certificate_der(AUTH)),
                    "signature": b64(card.sign(AUTH, nonce.encode())),
                },
            )
            response.raise_for_status()

        async def drafts(code: str) -> list[tuple[str, dict[str, str]]]:
            made = []
            for _ in range(requests + 1):
                response = await api.post(
                    f"/api/v1/municipalities/{TOMI}/procedures/{code}/submissions",
                    json={"answers": ANSWERS},
                )
                response.raise_for_status()
                body = response.json()
                made.append((body["id"], {"Authorization": f"Bearer {body['access_token']}"}))
            return made

        async def signing_document(draft: tuple[str, dict[str, str]]) -> bytes:
            submission_id, owner = draft
            url = f"/api/v1/submissions/{submission_id}/signing-document"
            response = await api.get(url, headers=owner)
            response.raise_for_status()
            return str(response.json()["document"]).encode()

        def submitter(
            pending: list[tuple[str, dict[str, str]]], bodies: list[dict[str, str]] | None
        ) -> Callable[[], Awaitable[None]]:
            async def submit() -> None:
                submission_id, owner = pending.pop()
                body = bodies.pop() if bodies is not None else {}
                url = f"/api/v1/submissions/{submission_id}/submit"
                response = await api.post(url, json=body, headers=owner)
                response.raise_for_status()

            return submit

        # Untimed: drafts, and the card's signatures over their documents.
        unsigned = await drafts(UNSIGNED)
        signed = await drafts(SIGNED)
        for_documents = list(signed)
        bodies = []
        for draft in signed:
            document = await signing_document(draft)
            bodies.append(
                {
                    "certificate": b64(card.certificate_der(SIGN)),
                    "signature": b64(card.sign(SIGN, document)),
                }
            )

        await login()  # warm-up: loads the trust store with its large CRL
        await submitter(unsigned, None)()
        await submitter(signed, bodies)()
        print(f"\nThrough the app (in-process ASGI, {requests} each)")
        print(summary("challenge alone (one insert)", await timed(challenge_only, requests)))
        print(summary("login: challenge + signed login + token", await timed(login, requests)))
        # Alternated, so drift on a shared machine hits both alike.
        plain_ms, signed_ms = await alternated(
            submitter(unsigned, None), submitter(signed, bodies), requests
        )
        print(summary("submit, unsigned (procedure: none)", plain_ms))
        print(summary(f"submit, signed (jpki_sign, {crl_label} CRL)", signed_ms))
        added = statistics.median(signed_ms) - statistics.median(plain_ms)
        print(f"  {'what the signature adds (medians)':<46} {added:7.2f} ms")

        async def fetch_document() -> None:
            await signing_document(for_documents.pop())

        print(summary("GET signing-document", await timed(fetch_document, requests)))
    await app.state.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--crl-entries", type=int, default=100_000)
    parser.add_argument("--verifications", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    arguments = parser.parse_args()

    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    with tempfile.TemporaryDirectory(prefix="jpki-bench-") as scratch:
        root = Path(scratch)
        home = TestCaHome.init(root / "trust", generations=(2015, 2023))
        empty_store = TrustStore.load(home.trust_dir)
        card = home.mint_card(HOLDER)
        build_seconds = build_large_crl(home, arguments.crl_entries)
        started = time.perf_counter()
        store = TrustStore.load(home.trust_dir)
        load_seconds = time.perf_counter() - started
        size = (home.trust_dir / f"{home.authority(SIGN).stem}.crl").stat().st_size
        print(
            f"CRL with {arguments.crl_entries:,} entries: built and signed in "
            f"{build_seconds:.2f} s, {size / 1_000_000:.1f} MB PEM; "
            f"trust store loaded in {load_seconds:.2f} s"
        )

        crl_label = f"{arguments.crl_entries:,}-entry"
        verifier_figures(store, empty_store, card, arguments.verifications, crl_label)

        database_url = arguments.database_url or f"sqlite+aiosqlite:///{root / 'bench.db'}"
        migrate(database_url)
        settings = Settings(
            environment="test",
            database_url=database_url,
            log_level="WARNING",
            jpki_trust_dir=home.trust_dir,
            secret_key=secrets.token_urlsafe(32),
            # The limiter stays on (its cost is part of a login) but never trips here.
            rate_limit_jpki_per_window=1_000_000,
        )
        asyncio.run(http_figures(settings, card, arguments.requests, crl_label))


if __name__ == "__main__":
    main()
