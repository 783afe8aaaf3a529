"""`/healthz` (the process answers) and `/readyz` (it can serve: database reachable,
schema at head, My Number card CRLs fresh). Outside /api/v1: probes are
infrastructure, not the public API."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from app.auth.jpki.dependencies import JpkiVerifier
from app.dependencies import Now
from app.errors import problem_responses
from app.health import service
from app.health.service import NotReady

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: str = "ok"


class RevocationListRead(BaseModel):
    """One trusted CA's CRL (失効リスト) and whether it is still current."""

    authority: str
    certificate_type: str = Field(description="authentication | signing")
    generation: int
    next_update: datetime | None
    state: str = Field(
        description="fresh | stale (past nextUpdate by more than JPKI_CLOCK_SKEW_SECONDS) | missing"
    )
    crl: str | None = Field(description="the CRL's file name in JPKI_TRUST_DIR")
    crl_number: int | None


class ReadinessRead(BaseModel):
    status: str
    database: str
    migrations: str
    jpki: str = Field(description="ok | stale | loading | unavailable")
    revocation_lists: list[RevocationListRead]


@router.get("/healthz")
async def healthz(response: Response) -> Liveness:
    """生存確認: answers as long as the process serves requests; touches nothing else."""
    response.headers["Cache-Control"] = "no-store"
    return Liveness()


@router.get("/readyz", responses=problem_responses(NotReady))
async def readyz(
    request: Request, response: Response, verifier: JpkiVerifier, now: Now
) -> ReadinessRead:
    """準備確認: 503 until the database answers, its migrations are at head, and every
    current JPKI CA has a CRL before its nextUpdate."""
    readiness = await service.check(request.app.state.engine, verifier, now=now)
    revocation_lists = [
        RevocationListRead.model_validate(status, from_attributes=True)
        for status in readiness.jpki.revocation_lists
    ]
    if not readiness.ready:
        # Name the CRLs that hold readiness back, so an operator knows which file to renew.
        held = ", ".join(
            f"{item.crl or item.authority} ({item.certificate_type} {item.generation}): "
            f"{item.state}"
            for item in revocation_lists
            if item.state != "fresh"
        )
        held_en = f"; CRLs: {held}" if held else ""
        held_ja = f"（失効リスト: {held}）" if held else ""
        raise NotReady(
            f"database: {readiness.database}, migrations: {readiness.migrations}, "
            f"jpki: {readiness.jpki.state}{held_en}",
            f"データベース: {readiness.database}、マイグレーション: {readiness.migrations}、"
            f"公的個人認証: {readiness.jpki.state}{held_ja}",
            extra={
                "database": readiness.database,
                "migrations": readiness.migrations,
                "jpki": readiness.jpki.state,
                "revocation_lists": [item.model_dump(mode="json") for item in revocation_lists],
            },
        )
    response.headers["Cache-Control"] = "no-store"
    return ReadinessRead(
        status="ok",
        database=readiness.database,
        migrations=readiness.migrations,
        jpki=readiness.jpki.state,
        revocation_lists=revocation_lists,
    )
