"""Cashless fees (手数料のキャッシュレス決済): payments through a provider (Stripe or the
local demo), webhooks, refunds (返金), and reconciliation (消込) against payouts."""
