from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

# A JPKI certificate is about 1.5 KB of DER; an RSA-2048 signature is 256 bytes.
CERTIFICATE_MAX_CHARS = 8192
SIGNATURE_MAX_CHARS = 1024
NONCE_MAX_CHARS = 128


class ChallengeRequest(BaseModel):
    purpose: Literal["login", "prefill"] = Field(
        default="login",
        description="login: signed with the authentication key (利用者証明用); "
        "prefill: signed with the signing key (署名用) to read the 基本4情報.",
    )


class ChallengeResponse(BaseModel):
    """A one-time nonce: the card signs its UTF-8 bytes (SHA256withRSA, PKCS#1 v1.5)."""

    nonce: str
    challenge_secret: str = Field(
        description="Send it back with the signed nonce; keep it to this client (the nonce "
        "goes to the card, the secret does not). Without it the nonce is of no use."
    )
    expires_at: datetime


class CardSignature(BaseModel):
    """What the card produced: its certificate and a signature, both base64."""

    certificate: str = Field(
        min_length=1, max_length=CERTIFICATE_MAX_CHARS, description="Base64 of the DER certificate"
    )
    signature: str = Field(min_length=1, max_length=SIGNATURE_MAX_CHARS, description="Base64")


class SignedChallenge(CardSignature):
    """A challenge signed by the card: login (authentication key) or prefill (signing key)."""

    nonce: str = Field(min_length=1, max_length=NONCE_MAX_CHARS)
    challenge_secret: str = Field(
        min_length=1,
        max_length=NONCE_MAX_CHARS,
        description="The `challenge_secret` the challenge was issued with",
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")
