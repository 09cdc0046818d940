"""Rate limiting of authentication failures (the ``limits`` library).

Tokens carry 256 random bits, so guessing one is hopeless; the limit is there to
make a guessing script (or a misconfigured one hammering with a revoked token)
cheap to absorb and visible, without letting anyone lock the committee out.

Failures are counted twice, each ``AUTH_FAILURE_LIMIT`` (default ``20 per minute``):

- per credential (the presented token's hash): a token that keeps failing is
  answered ``429 too_many_requests`` before it is looked up again;
- per client address: past the limit, a token that fails from that address is
  answered ``429`` instead of ``401``.

A valid token is never refused for others' failures: behind a reverse proxy, or
from an office's shared address, twenty bad requests must not shut out the whole
committee. (A valid token learns nothing from this: its holder has it already.)

The client's address is the connection's, unless the connection comes from one
of ``TRUSTED_PROXIES`` (addresses or networks): then it is the nearest address in
``X-Forwarded-For`` that is not itself a trusted proxy. A forwarded header from
anyone else is ignored, so a client cannot choose the address it is counted under.

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

import hashlib
import math
import time
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from flask import Flask, current_app, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES, RateLimiter
from werkzeug.exceptions import TooManyRequests

EXTENSION = "ledger.auth_failure_limiter"
NAMESPACE = "auth-failure"


class AuthFailureGuard:
    """Counts authentication failures per credential and per client address."""

    def __init__(
        self,
        limiter: RateLimiter,
        item: RateLimitItem,
        enabled: bool,
        trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = (),
    ) -> None:
        self.limiter = limiter
        self.item = item
        self.enabled = enabled
        self.trusted_proxies = trusted_proxies

    def client_address(self) -> str:
        """The client's address: the connection's, or, through a trusted proxy,
        the nearest forwarded address that is not a trusted proxy."""
        address = request.remote_addr or "unknown"
        if not self.trusted_proxies or not self._trusted(address):
            return address
        forwarded = request.headers.get("X-Forwarded-For", "")
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if not self._trusted(hop):
                return hop
            address = hop
        return address

    def _trusted(self, address: str) -> bool:
        try:
            ip = ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)

    def check_credential(self, token: str) -> None:
        """Refuse, with 429 and before any look-up, a token that has failed too
        often in the window."""
        if self.enabled:
            self._refuse_if_over(_credential(token), "with this token")

    def failed(self, token: str | None) -> None:
        """Count one failed authentication, for the token presented (if any) and
        the client's address; 429 instead of 401 once the address has used up the
        limit."""
        if not self.enabled:
            return
        address = ("address", self.client_address())
        if token:
            self.limiter.hit(self.item, NAMESPACE, *_credential(token))
        # The limit's failures are answered 401; those past it, 429.
        self._refuse_if_over(address, "from this address")
        self.limiter.hit(self.item, NAMESPACE, *address)

    def _refuse_if_over(self, key: tuple[str, str], where: str) -> None:
        if self.limiter.test(self.item, NAMESPACE, *key):
            return
        reset_at, _remaining = self.limiter.get_window_stats(self.item, NAMESPACE, *key)
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"Too many failed authentications {where}; retry in {retry_after} s.",
            retry_after=retry_after,
        )

    def reset(self) -> None:
        self.limiter.storage.reset()


def _credential(token: str) -> tuple[str, str]:
    """A presented token's key in the counters: a hash, never the token."""
    return ("credential", hashlib.sha256(token.encode()).hexdigest()[:32])


def auth_failures() -> AuthFailureGuard:
    guard: AuthFailureGuard = current_app.extensions[EXTENSION]
    return guard


def init_app(app: Flask) -> None:
    enabled = bool(app.config.get("RATELIMIT_ENABLED", not app.testing))
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    strategy = STRATEGIES[app.config.get("RATELIMIT_STRATEGY", "fixed-window")]
    limiter = strategy(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))
    proxies = tuple(
        ip_network(str(proxy), strict=False) for proxy in app.config.get("TRUSTED_PROXIES", ())
    )
    app.extensions[EXTENSION] = AuthFailureGuard(
        limiter, parse(app.config["AUTH_FAILURE_LIMIT"]), enabled, proxies
    )
