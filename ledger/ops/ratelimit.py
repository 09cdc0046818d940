"""Rate limiting of authentication failures (flask-limiter).

Tokens carry 256 random bits, so guessing one is hopeless; the limit is there to
make a guessing script (or a misconfigured one hammering with a revoked token)
cheap to absorb and visible. Each client address may fail authentication
``AUTH_FAILURE_LIMIT`` times (default ``20 per minute``); past that, every request
from that address that presents a token is answered ``429 too_many_requests``
with ``Retry-After`` until the window has passed, *before* the token is looked up,
so a locked-out client cannot learn whether a token is valid.

Counters live in the process (``memory://``) by default: each gunicorn worker
counts on its own, which bounds a guesser at workers x limit. With several app
servers, set ``RATELIMIT_STORAGE_URI = "redis://host:6379"`` (and install
``redis``) so that they share one count.

The limit is on unless the app is built with ``TESTING`` and without an explicit
``RATELIMIT_ENABLED``: the test suite authenticates badly on purpose hundreds of
times from one address; ``tests/security/test_rate_limit.py`` turns it on.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from werkzeug.exceptions import TooManyRequests

EXTENSION = "ledger.auth_failure_limiter"
NAMESPACE = "auth-failure"


class AuthFailureGuard:
    """Counts authentication failures per client address."""

    def __init__(self, limiter: Limiter, item: RateLimitItem, enabled: bool) -> None:
        self.limiter = limiter
        self.item = item
        self.enabled = enabled

    def _key(self) -> str:
        return get_remote_address() or "unknown"

    def check(self) -> None:
        """Refuse, with 429, a client that has failed too often in the window."""
        if not self.enabled:
            return
        key = self._key()
        if self.limiter.limiter.test(self.item, NAMESPACE, key):
            return
        reset_at, _remaining = self.limiter.limiter.get_window_stats(self.item, NAMESPACE, key)
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"Too many failed authentications from this address; retry in {retry_after} s.",
            retry_after=retry_after,
        )

    def failed(self) -> None:
        """Count one failed authentication."""
        if self.enabled:
            self.limiter.limiter.hit(self.item, NAMESPACE, self._key())

    def reset(self) -> None:
        self.limiter.reset()


def auth_failures() -> AuthFailureGuard:
    guard: AuthFailureGuard = current_app.extensions[EXTENSION]
    return guard


def init_app(app: Flask) -> None:
    enabled = bool(app.config.get("RATELIMIT_ENABLED", not app.testing))
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    # No limit on ordinary traffic: only failures count, through the guard above.
    limiter = Limiter(
        get_remote_address,
        app=app,
        default_limits=[],
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        strategy=app.config.get("RATELIMIT_STRATEGY", "fixed-window"),
        enabled=enabled,
    )
    app.extensions[EXTENSION] = AuthFailureGuard(
        limiter, parse(app.config["AUTH_FAILURE_LIMIT"]), enabled
    )
