"""Keys from settings. An encryption key is set as URL-safe base64 (what
`python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"`
prints); a value that does not decode fails loudly, naming its setting."""

from __future__ import annotations

import base64
import binascii


def decode_key(setting: str, encoded: str) -> bytes:
    """The raw bytes of the key set in `setting` (e.g. MY_NUMBER_ENCRYPTION_KEY)."""
    try:
        return base64.urlsafe_b64decode(encoded)
    except binascii.Error as exc:
        raise ValueError(f"{setting} is not URL-safe base64") from exc
