"""Security headers on every response.

The API answers JSON to scripts, so its policy is the strictest there is: nothing
may be loaded, framed or sniffed. The one HTML page (the interactive docs) loads
Swagger UI from its CDN, so it gets a policy that allows exactly that.
"""

from __future__ import annotations

from flask import Flask, Response, current_app

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def _docs_csp(cdn: str) -> str:
    return (
        f"default-src 'none'; script-src 'self' 'unsafe-inline' {cdn}; "
        f"style-src 'self' 'unsafe-inline' {cdn}; img-src 'self' data: {cdn}; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
    # Browsers heed it only over HTTPS, which is how production is served.
    headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if response.mimetype == "text/html":
        cdn = current_app.config.get("OPENAPI_SWAGGER_UI_URL", "")
        origin = "/".join(cdn.split("/")[:3]) if cdn.startswith("https://") else ""
        headers.setdefault("Content-Security-Policy", _docs_csp(origin))
    else:
        headers.setdefault("Content-Security-Policy", API_CSP)
    return response


def init_app(app: Flask) -> None:
    app.after_request(security_headers)
