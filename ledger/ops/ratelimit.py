"""Rate limiting of authentication failures (the ``limits`` library).

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

Only failures are counted, by the guard below, so the library is used directly
(its storage and a rate-limiting strategy) rather than through flask-limiter, whose
before-, after- and teardown-request hooks would run on every request for no limit
at all.

The limit is on unless the app is built with ``TESTING`` and without an explicit
``RATELIMIT_ENABLED``: the test suite authenticates badly on purpose hundreds of
times from one address; ``tests/security/test_rate_limit.py`` turns it on.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES, RateLimiter
from werkzeug.exceptions import TooManyRequests

EXTENSION = "ledger.auth_failure_limiter"
NAMESPACE = "auth-failure"


class AuthFailureGuard:
    """Counts authentication failures per client address."""

    def __init__(self, limiter: RateLimiter, item: RateLimitItem, enabled: bool) -> None:
        self.limiter = limiter
        self.item = item
        self.enabled = enabled

    def _key(self) -> str:
        return request.remote_addr or "unknown"

    def check(self) -> None:
        """Refuse, with 429, a client that has failed too often in the window."""
        if not self.enabled:
            return
        key = self._key()
        if self.limiter.test(self.item, NAMESPACE, key):
            return
        reset_at, _remaining = self.limiter.get_window_stats(self.item, NAMESPACE, key)
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"Too many failed authentications from this address; retry in {retry_after} s.",
            retry_after=retry_after,
        )

    def failed(self) -> None:
        """Count one failed authentication."""
        if self.enabled:
            self.limiter.hit(self.item, NAMESPACE, self._key())

    def reset(self) -> None:
        self.limiter.storage.reset()


def auth_failures() -> AuthFailureGuard:
    guard: AuthFailureGuard = current_app.extensions[EXTENSION]
    return guard


def init_app(app: Flask) -> None:
    enabled = bool(app.config.get("RATELIMIT_ENABLED", not app.testing))
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    strategy = STRATEGIES[app.config.get("RATELIMIT_STRATEGY", "fixed-window")]
    limiter = strategy(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))
    app.extensions[EXTENSION] = AuthFailureGuard(
        limiter, parse(app.config["AUTH_FAILURE_LIMIT"]), enabled
    )
