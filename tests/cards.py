"""My Number cards for any test (a pytest plugin, loaded by tests/conftest.py): a test
CA made for the run (both generations, both types) and cards minted from it.

RSA key generation is the slow part, so card keys come from a small pool; a test that
needs a key no card has makes its own. A test directory that sends cards to the app
points `settings.jpki_trust_dir` at `jpki_home.trust_dir` (see its conftest)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from app.auth.jpki.testca import CardHolder, TestCaHome, TestCard, mint_card
from app.auth.jpki.verifier import CertificateKind
from tests.auth.jpki.helpers import HANAKO, KeyPool


@pytest.fixture(scope="session")
def key_pool() -> KeyPool:
    return KeyPool()


@pytest.fixture(scope="session")
def jpki_home(tmp_path_factory: pytest.TempPathFactory) -> TestCaHome:
    """A trust directory of our own (2015 in DER, 2023 in PEM), made with `init`."""
    return TestCaHome.init(tmp_path_factory.mktemp("jpki") / "trust")


MintCard = Callable[..., TestCard]


@pytest.fixture
def mint(jpki_home: TestCaHome, key_pool: KeyPool) -> MintCard:
    def _mint(
        holder: CardHolder = HANAKO,
        *,
        generation: int | None = None,
        home: TestCaHome | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        serial_number: int | None = None,
    ) -> TestCard:
        source = home or jpki_home
        return mint_card(
            source.authority(CertificateKind.AUTHENTICATION, generation),
            source.authority(CertificateKind.SIGNING, generation),
            holder,
            not_before=not_before,
            not_after=not_after,
            keys=key_pool.pair(),
            serial_number=serial_number,
        )

    return _mint
