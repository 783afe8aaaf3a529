"""The JPKI verifier is a plugin chosen by setting (`JPKI_VERIFIER`, default `local`).

Each module of this package registers a factory under a name with `@register`; adding
a verifier (an OCSP or J-LIS adapter, say) is adding a file here. The app builds the
configured one once per process, in a worker thread (loading a trust store can take
seconds), behind `ConfiguredVerifier`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
from collections.abc import Callable
from datetime import datetime

from app.auth.jpki.errors import JpkiTrustStoreUnavailable, TrustStoreError
from app.auth.jpki.verifier import (
    CertificateKind,
    SignedData,
    VerifiedCertificate,
    Verifier,
    VerifierHealth,
)
from app.config import Settings

logger = logging.getLogger(__name__)

PROBE_WAIT_SECONDS = 1.0

VerifierFactory = Callable[[Settings], Verifier]
"""Builds a verifier from the settings; may block (reads files, opens connections)."""

_factories: dict[str, VerifierFactory] = {}


def register(name: str) -> Callable[[VerifierFactory], VerifierFactory]:
    """Register a verifier factory under the name `JPKI_VERIFIER` selects it by."""

    def decorate(factory: VerifierFactory) -> VerifierFactory:
        if _factories.get(name, factory) is not factory:
            raise ValueError(f"two JPKI verifiers are registered as {name!r}")
        _factories[name] = factory
        return factory

    return decorate


def available() -> list[str]:
    """The registered names, after importing every module of this package."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return sorted(_factories)


def build(settings: Settings) -> Verifier:
    """The verifier `settings.jpki_verifier` names, built now (blocking)."""
    names = available()
    if settings.jpki_verifier not in names:
        raise TrustStoreError(
            f"JPKI_VERIFIER={settings.jpki_verifier!r} is not one of {', '.join(names)}"
        )
    return _factories[settings.jpki_verifier](settings)


class ConfiguredVerifier:
    """The app's verifier: built from the settings on first use, off the event loop.

    Until it is built, requests that need it wait for the one build in flight; a build
    that fails is logged and answered 503 (`JPKI_TRUST_STORE_UNAVAILABLE`), and the
    next request tries again."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._verifier: Verifier | None = None
        self._lock = asyncio.Lock()
        self._warming: asyncio.Task[None] | None = None
        self._failed = False

    async def loaded(self) -> Verifier:
        if self._verifier is None:
            async with self._lock:
                if self._verifier is None:
                    try:
                        self._verifier = await asyncio.to_thread(build, self.settings)
                        self._failed = False
                    except (TrustStoreError, OSError) as exc:
                        self._failed = True
                        logger.error("JPKI verifier cannot be loaded: %s", exc)
                        raise JpkiTrustStoreUnavailable(
                            "The server cannot check My Number card certificates at the moment.",
                            "現在マイナンバーカードの電子証明書を確認できません。",
                        ) from exc
        return self._verifier

    async def verify(
        self, signed: SignedData, *, kind: CertificateKind, now: datetime
    ) -> VerifiedCertificate:
        verifier = await self.loaded()
        return await verifier.verify(signed, kind=kind, now=now)

    async def health(self, *, now: datetime) -> VerifierHealth:
        """A probe starts the build and waits for it a moment (a small trust store
        loads in milliseconds); a longer build is reported as `loading`."""
        if self._verifier is None:
            if self._warming is None or self._warming.done():
                self._warming = asyncio.create_task(self._warm())
            await asyncio.wait({self._warming}, timeout=PROBE_WAIT_SECONDS)
        if self._verifier is not None:
            return await self._verifier.health(now=now)
        return VerifierHealth(state="unavailable" if self._failed else "loading")

    async def _warm(self) -> None:
        try:
            await self.loaded()
        except JpkiTrustStoreUnavailable:
            return
