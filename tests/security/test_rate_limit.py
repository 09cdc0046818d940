"""Rate limiting of authentication failures (ledger/ops/ratelimit.py).

An app of its own with the limit on and small (3 per minute): the shared test app
runs with it off, because the suite fails authentication on purpose many times."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from ledger import create_app
from tests.factories import API, LedgerDriver
from tests.test_api_conventions import assert_problem

# Real commits: a second app, with an engine of its own, on the test database.
pytestmark = pytest.mark.real_commits


PROXY = "192.0.2.10"


@pytest.fixture
def limited(app: Flask, database_url: str) -> Iterator[Flask]:
    """An app on the test database with AUTH_FAILURE_LIMIT = 3 per minute, behind a
    trusted proxy at ``PROXY``. (``app`` is requested so that the tables are
    emptied afterwards.)"""
    limited_app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "RATELIMIT_ENABLED": True,
            "AUTH_FAILURE_LIMIT": "3 per minute",
            "TRUSTED_PROXIES": [PROXY],
        }
    )
    yield limited_app
    limited_app.extensions["ledger.db"].engine.dispose()


def _get(
    app: Flask,
    token: str | None,
    addr: str = "192.0.2.1",
    path: str = f"{API}/me",
    forwarded: str | None = None,
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    return app.test_client().get(path, headers=headers, environ_base={"REMOTE_ADDR": addr})


def test_failures_from_an_address_are_throttled_but_a_valid_token_still_works(limited):
    driver = LedgerDriver(limited, limited.test_client())
    valid = driver.tokens["clerk"]

    failures = [_get(limited, f"ldg_guess{i}").status_code for i in range(3)]
    throttled = _get(limited, "ldg_guess_again")
    allowed = _get(limited, valid)

    assert failures == [401, 401, 401]
    assert_problem(throttled, 429, "too_many_requests")
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    assert allowed.status_code == 200 and allowed.get_json()["name"] == "clerk"


def test_a_token_that_keeps_failing_is_refused_wherever_it_comes_from(limited):
    statuses = [
        _get(limited, "ldg_revoked", addr=f"192.0.2.{20 + i}").status_code for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_behind_the_trusted_proxy_each_client_is_counted_on_its_own(limited):
    """Twenty bad requests through the office's proxy must not lock the committee
    out: the proxy's forwarded address names the client."""
    driver = LedgerDriver(limited, limited.test_client())
    for i in range(4):
        _get(limited, f"ldg_guess{i}", addr=PROXY, forwarded="198.51.100.1")
    locked = _get(limited, "ldg_other", addr=PROXY, forwarded="198.51.100.1")
    neighbour = _get(limited, "ldg_other", addr=PROXY, forwarded="198.51.100.2")
    colleague = _get(limited, driver.tokens["clerk"], addr=PROXY, forwarded="198.51.100.1")

    assert locked.status_code == 429
    assert neighbour.status_code == 401
    assert colleague.status_code == 200


def test_a_forwarded_header_from_anyone_else_is_ignored(limited):
    """A client cannot pick the address it is counted under."""
    statuses = [
        _get(limited, f"ldg_guess{i}", addr="192.0.2.99", forwarded=f"203.0.113.{i}").status_code
        for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


def test_the_limit_is_per_client_address(limited):
    driver = LedgerDriver(limited, limited.test_client())
    for i in range(4):
        _get(limited, f"ldg_guess{i}", addr="192.0.2.66")

    response = _get(limited, driver.tokens["clerk"], addr="192.0.2.77")

    assert response.status_code == 200
    assert response.get_json()["name"] == "clerk"


def test_successful_and_anonymous_requests_do_not_count(limited):
    driver = LedgerDriver(limited, limited.test_client())
    for _ in range(10):
        assert _get(limited, driver.tokens["clerk"]).status_code == 200
        assert _get(limited, None, path="/healthz").status_code == 200

    two_failures = [_get(limited, "ldg_wrong").status_code for _ in range(2)]

    assert two_failures == [401, 401]
    assert _get(limited, driver.tokens["clerk"]).status_code == 200


def test_a_locked_out_client_may_still_reach_the_probes(limited):
    for i in range(4):
        _get(limited, f"ldg_guess{i}")

    assert _get(limited, None, path="/healthz").status_code == 200
