"""The one settings object, read from the environment (and a `.env` file)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Development-only defaults; production refuses to start with any of them.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"
DEVELOPMENT_MY_NUMBER_KEY = "bWFkb2d1Y2hpLWRldmVsb3BtZW50LW9ubHkta2V5ISE="
DEVELOPMENT_ATTACHMENT_KEY = "bWFkb2d1Y2hpLWF0dGFjaG1lbnRzLWRldi1vbmx5ISE="
# TEST ONLY certificate authority shipped for development and tests (see docs/jpki.md).
JPKI_TEST_TRUST_DIR = PROJECT_ROOT / "app" / "auth" / "jpki" / "test_trust"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'madoguchi.db'}"
    database_echo: bool = False
    database_pool_size: int = Field(default=4, ge=1, le=100)
    """PostgreSQL connections per worker process, all kept open (no overflow). Few: on
    a machine whose cores PostgreSQL shares, more transactions in flight only make its
    backends compete for the cores and queue on the 受付番号 counter row."""
    database_pool_timeout_seconds: float = Field(default=30, gt=0)
    """How long a request waits for a free pooled connection before failing."""
    database_pool_recycle_seconds: int = Field(default=1800, ge=60)
    """A pooled connection is replaced after this long (instead of a ping per use)."""
    host: str = "127.0.0.1"
    """Address `python -m app.serve` listens on (0.0.0.0 in the Docker image)."""
    port: int = Field(default=8000, ge=1, le=65535)
    web_concurrency: int = Field(default=1, ge=1, le=64)
    """Worker processes of `python -m app.serve`; one per CPU core is a good start."""
    log_level: str = "INFO"
    public_base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Tokyo"

    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET_KEY)
    """Signs tokens and derives per-submission access tokens (HMAC). Rotate: see docs."""

    max_request_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_json_depth: int = Field(default=32, ge=4)
    catalog_cache_max_age_seconds: int = Field(default=300, ge=0)
    open_data_max_age_seconds: int = Field(default=3600, ge=0)
    """Cache-Control max-age of the public open-data files (aggregates, complete months)."""
    idempotency_ttl_seconds: int = Field(default=24 * 3600, ge=60)

    staff_token_ttl_seconds: int = Field(default=15 * 60, ge=60, le=12 * 3600)
    """Lifetime of a staff access token; logout revokes one earlier."""
    my_number_encryption_key: SecretStr = SecretStr(DEVELOPMENT_MY_NUMBER_KEY)
    """AES-256-GCM key (32 bytes, URL-safe base64) encrypting 個人番号 answers at rest."""

    jpki_verifier: str = "local"
    """Which registered JPKI verifier checks cards (app/auth/jpki/verifiers): `local`
    checks certificates and CRLs from JPKI_TRUST_DIR."""
    jpki_trust_dir: Path = JPKI_TEST_TRUST_DIR
    """J-LIS CA certificates and CRLs (PEM or DER). Defaults to the TEST ONLY CA."""
    jpki_clock_skew_seconds: int = Field(default=300, ge=0, le=3600)
    """Clock difference allowed with J-LIS: a card certificate is accepted this long
    before its notBefore, a CRL this long after its nextUpdate."""
    jpki_challenge_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    """How long a login/prefill nonce (チャレンジ) may be signed and used, once."""
    citizen_token_ttl_seconds: int = Field(default=15 * 60, ge=60, le=12 * 3600)
    """Lifetime of a citizen access token issued after a My Number card login."""

    cors_allow_origins: Annotated[list[str], NoDecode] = []
    """Origins (comma-separated) allowed to call the API from a browser; empty = none."""
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)
    rate_limit_jpki_per_window: int = Field(default=30, ge=1)
    """JPKI challenge/login requests per client IP and window (shared by all workers)."""
    rate_limit_staff_token_per_window: int = Field(default=10, ge=1)
    """Staff sign-in attempts per client IP + login id and window."""
    rate_limit_staff_account_per_window: int = Field(default=20, ge=1)
    """Staff sign-in attempts per login id and window, from all addresses together."""
    rate_limit_staff_address_per_window: int = Field(default=60, ge=1)
    """Staff sign-in attempts per client IP and window, for all login ids together."""
    forwarded_allow_ips: Annotated[list[str], NoDecode] = []
    """Proxies (IPs or CIDR networks, comma-separated) whose X-Forwarded-For and
    X-Forwarded-Proto are believed; empty: none, the peer address is the client."""
    retention_default_days: int = Field(default=5 * 365, ge=1)
    """保存期間: days after a decision before answers and signatures are purged, unless
    the procedure's definition sets its own `retention_days`."""

    attachment_dir: Path = PROJECT_ROOT / "attachments"
    """添付ファイル are stored here (encrypted) unless ATTACHMENT_S3_BUCKET is set."""
    attachment_s3_bucket: str | None = None
    """Store attachments in this S3-compatible bucket instead of ATTACHMENT_DIR."""
    attachment_s3_endpoint_url: str | None = None
    attachment_s3_region: str | None = None
    attachment_s3_access_key_id: str | None = None
    attachment_s3_secret_access_key: SecretStr | None = None
    attachment_s3_prefix: str = "attachments/"
    attachment_encryption_key: SecretStr = SecretStr(DEVELOPMENT_ATTACHMENT_KEY)
    """AES-256 key (32 bytes, URL-safe base64) encrypting attachments at rest, in chunks."""
    attachment_max_file_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    attachment_max_total_bytes: int = Field(default=30 * 1024 * 1024, ge=1024)
    """All attachments of one application together."""
    attachment_max_count: int = Field(default=10, ge=1, le=100)
    attachment_max_image_pixels: int = Field(default=40_000_000, ge=10_000)
    attachment_virus_scan: bool = False
    """Scan every upload with clamd; until scanned clean an upload is quarantined."""
    clamd_host: str = "127.0.0.1"
    clamd_port: int = Field(default=3310, ge=1, le=65535)
    clamd_socket: Path | None = None
    """A unix socket of clamd; used instead of CLAMD_HOST/CLAMD_PORT when set."""
    clamd_timeout_seconds: float = Field(default=30.0, gt=0)

    smtp_host: str | None = None
    """Sends notification emails through this server; unset: nothing is sent."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = "madoguchi@localhost"
    notification_max_attempts: int = Field(default=8, ge=1, le=50)
    notification_retry_base_seconds: float = Field(default=30.0, gt=0)
    """The first retry waits this long, each next one twice as long (capped at a day)."""
    notification_poll_seconds: float = Field(default=5.0, gt=0)
    kpi_fold_seconds: float = Field(default=5.0, ge=0)
    """How often each app process folds the KPI deltas into the daily rows; 0: never
    (then run `python -m app.kpi fold` from a scheduler)."""
    notification_templates_dir: Path | None = None
    """Overrides of the mail templates: <dir>/<municipality code>/<kind>.txt, or
    <dir>/default/<kind>.txt, before the shipped ones."""

    @field_validator("jpki_verifier")
    @classmethod
    def _verifier_is_registered(cls, value: str) -> str:
        # Imported here: the registry imports the verifiers, which import this module.
        from app.auth.jpki.verifiers import available

        if value not in available():
            raise ValueError(f"JPKI_VERIFIER must be one of {', '.join(available())}")
        return value

    @field_validator("forwarded_allow_ips", "cors_allow_origins", mode="before")
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        """`a, b` in the environment is the list [a, b]."""
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"FORWARDED_ALLOW_IPS holds {proxy!r}: name IP addresses or CIDR networks"
                ) from None
        return value

    payment_provider: Literal["demo", "stripe"] = "demo"
    """Takes new payments: `stripe`, or `demo` (a local page to succeed or fail a
    payment, for development; refused in production)."""
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    """Verifies the Stripe-Signature of webhook calls (whsec_...)."""
    stripe_api_base: str | None = None
    """Another address for Stripe's API, e.g. the fake Stripe server of the tests."""
    stripe_max_network_retries: int = Field(default=2, ge=0, le=5)
    payment_method_types: list[Literal["card", "konbini", "paypay"]] = ["card"]
    """Offered at checkout unless a municipality's settings name its own
    (`payment_method_types`)."""
    payment_expiry_minutes: int = Field(default=60, ge=30, le=24 * 60)
    """How long a checkout page stays open before the payment expires."""
    reconciliation_unpaid_after_days: int = Field(default=7, ge=1, le=90)
    """A payment succeeded this many days ago and in no payout is reported (未入金)."""

    @model_validator(mode="after")
    def _settings_are_usable(self) -> Settings:
        """Every problem at once, so a deployment is fixed in one round."""
        problems = []
        if self.payment_provider == "stripe" and (
            self.stripe_api_key is None or self.stripe_webhook_secret is None
        ):
            problems.append(
                "PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET"
            )
        if self.environment == "production":
            problems.extend(self._production_problems())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _production_problems(self) -> list[str]:
        problems = []
        if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY:
            problems.append("SECRET_KEY must be set in production")
        elif len(self.secret_key.get_secret_value()) < 32:
            problems.append("SECRET_KEY must be at least 32 characters")
        if self.my_number_encryption_key.get_secret_value() == DEVELOPMENT_MY_NUMBER_KEY:
            problems.append("MY_NUMBER_ENCRYPTION_KEY must be set in production")
        if self.attachment_encryption_key.get_secret_value() == DEVELOPMENT_ATTACHMENT_KEY:
            problems.append("ATTACHMENT_ENCRYPTION_KEY must be set in production")
        if self.database_url.startswith("sqlite"):
            problems.append("production runs on PostgreSQL (DATABASE_URL)")
        trust_dir = self.jpki_trust_dir.resolve()
        # A directory `testca init` made carries a TEST_ONLY marker, copied or not.
        if trust_dir == JPKI_TEST_TRUST_DIR.resolve() or (trust_dir / "TEST_ONLY").exists():
            problems.append("JPKI_TRUST_DIR is the TEST ONLY CA; name J-LIS's trust files")
        if self.payment_provider == "demo":
            problems.append("PAYMENT_PROVIDER=demo is for development; production uses stripe")
        return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
