"""Attachments (添付ファイル): files a citizen uploads to an application, checked by their
bytes, cleaned, scanned when enabled, encrypted at rest and read only by the applicant
and the municipality's staff."""
