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

    @model_validator(mode="after")
    def _production_has_real_secrets(self) -> Settings:
        if self.environment == "production":
            if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY:
                raise ValueError("SECRET_KEY must be set in production")
            if len(self.secret_key.get_secret_value()) < 32:
                raise ValueError("SECRET_KEY must be at least 32 characters")
            if self.database_url.startswith("sqlite"):
                raise ValueError("production runs on PostgreSQL (DATABASE_URL)")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
