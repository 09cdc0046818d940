"""Security headers on every response.

The API answers JSON to scripts, so its policy is the strictest there is: nothing
may be loaded, framed or sniffed. The one HTML page (the interactive docs) loads
Swagger UI from the app itself (``/api/v1/docs/assets/``), so it gets a policy that
allows exactly that (and a CDN's origin, if OPENAPI_SWAGGER_UI_URL names one).
"""

from __future__ import annotations

from flask import Flask, Response, current_app

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def _docs_csp(cdn: str) -> str:
    extra = f" {cdn}" if cdn else ""
    return (
        f"default-src 'none'; script-src 'self' 'unsafe-inline'{extra}; "
        f"style-src 'self' 'unsafe-inline'{extra}; img-src 'self' data:{extra}; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


# Set unless the view set its own. Browsers heed Strict-Transport-Security only
# over HTTPS, which is how production is served.
DEFAULTS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Strict-Transport-Security", "max-age=63072000; includeSubDomains"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


def security_headers(response: Response) -> Response:
    headers = response.headers
    # One pass over the headers already set (``setdefault`` would scan them for each).
    present = {name.lower() for name, _ in headers.items()}
    for name, value in DEFAULTS:
        if name.lower() not in present:
            headers.add(name, value)
    if "content-security-policy" not in present:
        if response.mimetype == "text/html":
            cdn = current_app.config.get("OPENAPI_SWAGGER_UI_URL", "")
            origin = "/".join(cdn.split("/")[:3]) if cdn.startswith("https://") else ""
            headers.add("Content-Security-Policy", _docs_csp(origin))
        else:
            headers.add("Content-Security-Policy", API_CSP)
    return response


def init_app(app: Flask) -> None:
    app.after_request(security_headers)
