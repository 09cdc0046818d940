"""Operations: health and readiness probes, structured JSON logs, security headers,
and the rate limit on authentication failures.

``init_app(app)`` wires them all; ``create_app`` calls it before the
authentication hook, so that every request (even one refused at the door) is
timed, logged and answered with the security headers.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from ledger.ops.headers import init_app as init_headers
    from ledger.ops.health import init_app as init_health
    from ledger.ops.logs import init_app as init_logs
    from ledger.ops.ratelimit import init_app as init_ratelimit

    init_logs(app)
    init_ratelimit(app)
    init_headers(app)
    init_health(app)
