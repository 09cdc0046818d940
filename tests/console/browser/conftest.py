"""Browser tests of the console (issue 24): a real Chromium, driven by Playwright for
Python, against the application served on 127.0.0.1 by a real HTTP server in a
thread, on each database.

Chromium is Debian's (``/usr/bin/chromium``; ``CHROMIUM`` to point elsewhere):
Playwright downloads no browser. Without it the tests are skipped, except under
``CI=true``, where ``.ci/run`` installs it and its absence fails the run.

``LEDGER_CONSOLE_IMAGES=docs/images/console`` keeps a screenshot of each main page
there (the README shows them)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).is_file()
IMAGES = os.environ.get("LEDGER_CONSOLE_IMAGES")

if not HAVE_CHROMIUM and os.environ.get("CI") == "true":
    raise RuntimeError(f"CI=true and no Chromium at {CHROMIUM}: .ci/run installs it")

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason="Chromium is not installed")


class _Quiet(WSGIRequestHandler):
    """The app logs each request itself (ledger.access); the server need not."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served over HTTP on a free port of 127.0.0.1, as a browser reaches it."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not HAVE_CHROMIUM:
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def offline_context(chromium: Any, live_server: str) -> Iterator[Any]:
    """A browser context that reaches only the server under test: every request to
    another host is aborted, as on a machine without internet."""
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, locale="en-GB"
    )

    def only_local(route: Any) -> None:
        if route.request.url.startswith(live_server):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    blocked: list[str] = []
    context.route("**/*", only_local)
    context.blocked = blocked  # what the page tried to fetch from elsewhere
    try:
        yield context
    finally:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """Keep a picture of the page for the README, when asked to."""
    if IMAGES:
        Path(IMAGES).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(IMAGES) / f"{name}.png"), full_page=False)
