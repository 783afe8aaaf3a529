"""`/healthz` (the process answers) and `/readyz` (it can serve: database reachable,
schema at head). Outside /api/v1: probes are infrastructure, not the public API."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from app.errors import problem_responses
from app.health import service
from app.health.service import NotReady

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    status: str = "ok"


class ReadinessRead(BaseModel):
    status: str
    database: str
    migrations: str


@router.get("/healthz", response_model=Liveness)
async def healthz(response: Response) -> Liveness:
    """生存確認: answers as long as the process serves requests; touches nothing else."""
    response.headers["Cache-Control"] = "no-store"
    return Liveness()


@router.get("/readyz", response_model=ReadinessRead, responses=problem_responses(NotReady))
async def readyz(request: Request, response: Response) -> ReadinessRead:
    """準備確認: 503 until the database answers and its migrations are at head."""
    readiness = await service.check(request.app.state.engine)
    if not readiness.ready:
        raise NotReady(
            f"database: {readiness.database}, migrations: {readiness.migrations}",
            f"データベース: {readiness.database}、マイグレーション: {readiness.migrations}",
            extra={"database": readiness.database, "migrations": readiness.migrations},
        )
    response.headers["Cache-Control"] = "no-store"
    return ReadinessRead(status="ok", database=readiness.database, migrations=readiness.migrations)
