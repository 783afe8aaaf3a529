"""Payment providers behind a registry (決済代行): each lives in its own file and
registers a factory under its name; a payment remembers the provider that took it, and
`/api/v1/payments/{name}/webhook` reaches the provider of that name."""

from __future__ import annotations

from app.config import Settings
from app.payments.providers import demo, stripe_checkout
from app.payments.providers.base import (
    Ledger,
    PaymentProvider,
    PaymentProviderNotFound,
    ProviderFactory,
)

FACTORIES: dict[str, ProviderFactory] = {}


def register(name: str, factory: ProviderFactory) -> None:
    """Make a provider available under `name` (idempotent for the same factory)."""
    FACTORIES[name] = factory


register(demo.DemoProvider.name, demo.DemoProvider)
register(stripe_checkout.StripeCheckout.name, stripe_checkout.StripeCheckout)


class ProviderRegistry:
    """The providers of one process, each built on first use and closed with the app.
    Holds connection pools only, no state about payments."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._built: dict[str, PaymentProvider] = {}

    def get(self, name: str) -> PaymentProvider:
        if name not in FACTORIES:
            raise PaymentProviderNotFound(
                f"No payment provider is called '{name}'.",
                f"「{name}」という決済代行はありません。",
                extra={"provider": name},
            )
        if name not in self._built:
            self._built[name] = FACTORIES[name](self.settings)
        return self._built[name]

    def for_new_payments(self) -> PaymentProvider:
        return self.get(self.settings.payment_provider)

    def ledger(self, name: str = stripe_checkout.StripeCheckout.name) -> Ledger:
        """The balance-transaction source reconciliation reads (Stripe's, by default)."""
        return self.get(name).ledger()

    async def aclose(self) -> None:
        for provider in self._built.values():
            await provider.aclose()
        self._built.clear()
