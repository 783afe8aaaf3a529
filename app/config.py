"""The one settings object, read from the environment (and a `.env` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Development-only defaults; production refuses to start with any of them.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"
DEVELOPMENT_MY_NUMBER_KEY = "bWFkb2d1Y2hpLWRldmVsb3BtZW50LW9ubHkta2V5ISE="
# TEST ONLY certificate authority shipped for development and tests (see docs/jpki.md).
JPKI_TEST_TRUST_DIR = PROJECT_ROOT / "app" / "auth" / "jpki" / "test_trust"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'madoguchi.db'}"
    database_echo: bool = False
    log_level: str = "INFO"
    public_base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Tokyo"

    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)
    """Signs tokens and derives per-submission access tokens (HMAC). Rotate: see docs."""

    max_request_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_json_depth: int = Field(default=32, ge=4)
    catalog_cache_max_age_seconds: int = Field(default=300, ge=0)
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)

    staff_token_ttl_seconds: int = Field(default=15 * 60, ge=60, le=12 * 3600)
    """Lifetime of a staff access token; logout revokes one earlier."""
    my_number_encryption_key: SecretStr = SecretStr(DEVELOPMENT_MY_NUMBER_KEY)
    """AES-256-GCM key (32 bytes, URL-safe base64) encrypting 個人番号 answers at rest."""

    jpki_trust_dir: Path = JPKI_TEST_TRUST_DIR
    """J-LIS CA certificates and CRLs (PEM or DER). Defaults to the TEST ONLY CA."""
    jpki_challenge_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    """How long a login/prefill nonce (チャレンジ) may be signed and used, once."""
    citizen_token_ttl_seconds: int = Field(default=15 * 60, ge=60, le=12 * 3600)
    """Lifetime of a citizen access token issued after a My Number card login."""

    @model_validator(mode="after")
    def _production_has_real_secrets(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY:
            problems.append("SECRET_KEY must be set in production")
        elif len(self.secret_key.get_secret_value()) < 32:
            problems.append("SECRET_KEY must be at least 32 characters")
        if self.my_number_encryption_key.get_secret_value() == DEVELOPMENT_MY_NUMBER_KEY:
            problems.append("MY_NUMBER_ENCRYPTION_KEY must be set in production")
        if self.database_url.startswith("sqlite"):
            problems.append("production runs on PostgreSQL (DATABASE_URL)")
        trust_dir = self.jpki_trust_dir.resolve()
        # A directory `testca init` made carries a TEST_ONLY marker, copied or not.
        if trust_dir == JPKI_TEST_TRUST_DIR.resolve() or (trust_dir / "TEST_ONLY").exists():
            problems.append("JPKI_TRUST_DIR is the TEST ONLY CA; name J-LIS's trust files")
        if problems:
            raise ValueError("; ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
