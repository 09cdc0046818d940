"""The interactive API documentation works on a machine without internet (issue 24,
item 8): Swagger UI's files come from the installed package, and `/` leads to the
console, which links to the docs."""

from __future__ import annotations

import pytest

from tests.console.browser.conftest import screenshot

pytestmark = pytest.mark.real_commits


def test_the_api_docs_render_with_the_network_off(offline_context, live_server):
    page = offline_context.new_page()
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/console/")  # `/` leads to the console
    page.goto(f"{live_server}/api/v1/docs")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for(timeout=15000)
    assert "ledger" in title.inner_text().lower()
    page.locator(".opblock-tag", has_text="disbursements").first.wait_for()
    assert page.locator(".opblock").count() > 50  # the operations, from openapi.json
    assert offline_context.blocked == [], offline_context.blocked
    screenshot(page, "api-docs")
