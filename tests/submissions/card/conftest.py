"""What the My Number card adds to an application: the app trusts the run's test CA."""

from __future__ import annotations

import pytest

from app.auth.jpki.testca import TestCaHome
from app.config import Settings


@pytest.fixture
def settings(settings: Settings, jpki_home: TestCaHome) -> Settings:
    return settings.model_copy(update={"jpki_trust_dir": jpki_home.trust_dir})
