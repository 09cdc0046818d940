"""Security headers on every response: API JSON, problems, the OpenAPI document and
the interactive docs."""

from __future__ import annotations

import pytest

from tests.factories import API

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@pytest.mark.parametrize(
    "path",
    [f"{API}/funds", f"{API}/openapi.json", f"{API}/funds/1", "/healthz", "/no/such/page"],
)
def test_json_responses_carry_the_strict_headers(ledger, path):
    response = ledger.client.get(
        path, headers={"Authorization": f"Bearer {ledger.tokens['admin']}"}
    )

    for name, value in COMMON.items():
        assert response.headers[name] == value, name
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Request-Id"]


def test_the_docs_page_loads_swagger_ui_from_the_app_and_nothing_else(client):
    response = client.get(f"{API}/docs")

    csp = response.headers["Content-Security-Policy"]
    assert response.mimetype == "text/html"
    assert "script-src 'self' 'unsafe-inline';" in csp
    assert "http" not in csp  # no other origin: the docs need no internet
    page = response.get_data(as_text=True)
    assert "https://" not in page and "http://" not in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert f"{API}/docs/assets/{asset}" in page
        with client.get(f"{API}/docs/assets/{asset}") as served:
            assert served.status_code == 200 and len(served.get_data()) > 10_000, asset
    assert csp.startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
