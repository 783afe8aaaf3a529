"""Reconciliation (消込): the provider's payouts and balance transactions, imported and
matched against our payments, so finance can show every yen received belongs to an
application and every paid application reached the city's account."""
