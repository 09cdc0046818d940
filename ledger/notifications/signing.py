"""The webhook signature, and the check a receiver makes (copy ``verify_signature``).

Each webhook carries two headers:

- ``X-Ledger-Timestamp``: the time it was sent, in whole seconds since the Unix epoch;
- ``X-Ledger-Signature``: ``sha256=`` and the lowercase hex HMAC-SHA256, keyed with
  the endpoint's secret, of the timestamp, a full stop, and the body's exact bytes
  (``f"{timestamp}.".encode() + body``).

A receiver recomputes the HMAC over the bytes it received (before parsing the
JSON), compares it in constant time, and refuses a timestamp further than
``tolerance`` seconds from its own clock (five minutes by default): a captured
delivery replayed later is refused, and one replayed within the window is the same
``id``, which the receiver has seen. Each retry is signed anew, with its own time.

This module uses the standard library only, so that receivers can copy it.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Ledger-Timestamp"
SIGNATURE_HEADER = "X-Ledger-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Ledger-Signature`` value for ``body`` sent at ``timestamp``."""
    message = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` (the ``X-Ledger-Signature`` header) is the ledger's
    for ``body`` sent at ``timestamp`` (the ``X-Ledger-Timestamp`` header), and that
    time is within ``tolerance`` seconds of ``now`` (default: this machine's clock)."""
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
