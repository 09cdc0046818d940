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


@pytest.fixture
def limited(app: Flask, database_url: str) -> Iterator[Flask]:
    """An app on the test database with AUTH_FAILURE_LIMIT = 3 per minute.
    (``app`` is requested so that the tables are emptied afterwards.)"""
    limited_app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "RATELIMIT_ENABLED": True,
            "AUTH_FAILURE_LIMIT": "3 per minute",
        }
    )
    yield limited_app
    limited_app.extensions["ledger.db"].engine.dispose()


def _get(app: Flask, token: str | None, addr: str = "192.0.2.1", path: str = f"{API}/me") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().get(path, headers=headers, environ_base={"REMOTE_ADDR": addr})


def test_a_client_that_fails_too_often_is_refused_with_429_even_with_a_valid_token(limited):
    driver = LedgerDriver(limited, limited.test_client())
    valid = driver.tokens["clerk"]

    failures = [_get(limited, f"ldg_guess{i}").status_code for i in range(3)]
    locked = _get(limited, valid)

    assert failures == [401, 401, 401]
    assert_problem(locked, 429, "too_many_requests")
    assert 1 <= int(locked.headers["Retry-After"]) <= 60


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
