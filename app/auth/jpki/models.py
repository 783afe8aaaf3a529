from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, new_uuid, utcnow


class JpkiChallenge(Base):
    """A one-time nonce (チャレンジ) the card signs: with its authentication key to log
    in, with its signing key to prefill a form from the 基本4情報.

    Used by an UPDATE that only succeeds while `used_at` is empty, the nonce has not
    expired and the caller holds the challenge's secret, so two concurrent replays
    cannot both win and a nonce seen by another client is of no use to it."""

    __tablename__ = "jpki_challenges"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    """login | prefill"""
    secret_sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 (hex) of the secret handed only to the client that asked for the nonce
    (`challenge_secret`); the nonce itself travels to the card and may be seen."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class CitizenIdentity(Base):
    """A card certificate the server has verified (本人確認の記録): issuer + serial,
    never the 個人番号 (JPKI does not carry it).

    The authentication certificate gives the login identity (`subject`, which citizen
    tokens and submissions carry); a signing certificate adds the 基本4情報 as it
    asserted them. A card is one row per issuer DN, issuing key and serial: J-LIS's CA
    generations share a DN, and a serial is unique only under one key."""

    __tablename__ = "citizen_identities"
    __table_args__ = (UniqueConstraint("issuer", "serial_number", "issuer_key_sha256"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    subject: Mapped[str] = mapped_column(String(64), unique=True)
    """The pseudonymous id tokens and submissions carry: SHA-256 of issuer DN, issuing
    key and serial (rows recorded before 0012 keep their SHA-256 of DN and serial)."""
    certificate_type: Mapped[str] = mapped_column(String(16))
    """authentication (利用者証明用) | signing (署名用)"""
    issuer: Mapped[str] = mapped_column(String(512))
    issuer_key_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    """SHA-256 (hex) of the issuing CA's SubjectPublicKeyInfo. None only on a row
    recorded before 0012 whose card has not logged in since (see record_identity)."""
    serial_number: Mapped[str] = mapped_column(String(48))
    """Hexadecimal: certificate serials run to 20 bytes, beyond any integer column."""
    assurance_level: Mapped[str] = mapped_column(String(16))
    """jpki_auth (card login) | jpki_sign (signature with the 署名用電子証明書)"""
    basic_facts: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    """基本4情報 as the signing certificate asserted them; None for authentication."""
    not_after: Mapped[datetime] = mapped_column(UTCDateTime)
    first_verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
