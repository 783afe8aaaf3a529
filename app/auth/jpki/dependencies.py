"""The verifier a request uses: the one `JPKI_VERIFIER` names, built once per app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.jpki.errors import JpkiError
from app.auth.jpki.verifier import Verifier
from app.auth.jpki.verifiers import ConfiguredVerifier
from app.db import session_scope


def get_verifier(request: Request) -> Verifier:
    """The app's verifier (tests may set `app.state.jpki_verifier`).

    Kept per process: it is configuration (trust anchors and CRLs read from disk and
    reloaded when they change), not request state. Returning it never blocks: it is
    built in a worker thread when a request first needs it."""
    verifier: Verifier | None = getattr(request.app.state, "jpki_verifier", None)
    if verifier is None:
        verifier = ConfiguredVerifier(request.app.state.settings)
        request.app.state.jpki_verifier = verifier
    return verifier


JpkiVerifier = Annotated[Verifier, Depends(get_verifier)]


async def get_challenge_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The transaction of a route that spends a challenge (login, prefill): committed
    when the handler returns, and also when the card's proof is refused (`JpkiError`),
    so the refused attempt's nonce stays used; rolled back on any other error.

    Such a route writes nothing but the challenge's use before the proof is checked."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    async with session_scope(factory, commit_on=(JpkiError,)) as session:
        yield session


# scope="function", like DbSession: committed before the response is sent.
ChallengeSession = Annotated[AsyncSession, Depends(get_challenge_session, scope="function")]
