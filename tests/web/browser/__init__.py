"""Browser tests of the web client (one Chromium for this package)."""
