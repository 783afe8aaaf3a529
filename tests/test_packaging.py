"""The production wheel (what the Dockerfile installs) carries no TEST ONLY secrets: the
test CA's private keys and the `testca` tool stay in the source tree, where tests and
`make run` find them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.auth.jpki.testca import PRIVATE_DIR, SHIPPED_TRUST_DIR

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip wheel` of a copy of the project (the build writes into the source folder)."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"),
            *("-w", str(base / "dist"), str(source)),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = (base / "dist").glob("madoguchi-*.whl")
    return built


def test_the_wheel_has_no_test_ca_keys_and_no_testca_tool(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "app/auth/jpki/verifier.py" in names
    assert "app/auth/jpki/verifiers/local.py" in names
    assert not [n for n in names if n.startswith("app/auth/jpki/testca")]
    assert not [n for n in names if "/private/" in n or n.endswith(".key.pem")]
    key_block = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/]{64}")
    assert not [n for n in names if key_block.search(zipfile.ZipFile(wheel).read(n))]
    # The test CA's public half stays, with the marker production refuses it by.
    assert "app/auth/jpki/test_trust/TEST_ONLY" in names
    assert "app/auth/jpki/test_trust/sign-ca-2023.crl" in names


def test_the_source_tree_keeps_them_for_tests_and_make_run() -> None:
    keys = sorted(path.name for path in (SHIPPED_TRUST_DIR / PRIVATE_DIR).iterdir())
    assert keys == [f"{t}-ca-{g}.key.pem" for t in ("auth", "sign") for g in (2015, 2023)]


def test_an_app_installed_from_the_wheel_runs_and_production_refuses_the_test_ca(
    wheel: Path, tmp_path: Path
) -> None:
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    env = {
        **os.environ,
        "PYTHONPATH": str(installed),
        "ENVIRONMENT": "production",
        "SECRET_KEY": "x" * 40,
        "MY_NUMBER_ENCRYPTION_KEY": "cHJvZHVjdGlvbi1rZXktZm9yLXRlc3RzLW9ubHktMzI=",
        "ATTACHMENT_ENCRYPTION_KEY": "YXR0YWNobWVudC1rZXktZm9yLXRlc3RzLW9ubHktMzI=",
        "DATABASE_URL": "postgresql+asyncpg://madoguchi@127.0.0.1:1/madoguchi",
        "PAYMENT_PROVIDER": "stripe",
        "STRIPE_API_KEY": "sk_test_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
    }

    def run(code: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,  # not the source tree
            env={**env, **extra},
            capture_output=True,
            text=True,
        )

    started = run(
        "import app; from app.main import create_app; create_app(); print(app.__file__)",
        JPKI_TRUST_DIR=str(tmp_path),
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == str(installed / "app" / "__init__.py")
    refused = run("from app.main import create_app; create_app()")
    assert refused.returncode != 0
    assert "JPKI_TRUST_DIR is the TEST ONLY CA" in refused.stderr
    tool = run("import app.auth.jpki.testca")
    assert "No module named 'app.auth.jpki.testca'" in tool.stderr
