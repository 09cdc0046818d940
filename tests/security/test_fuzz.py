"""API fuzzing with schemathesis: every operation of /api/v1/openapi.json, as every
role and anonymously (half the time as a role the authorization matrix lets in),
with valid and invalid input.

Each response must not be a server error and must conform to the document: its
status is documented (``default`` included), its content type is the documented
one (``application/problem+json`` for every error) and its body validates against
the documented schema (the Problem schema for errors).

The run is bounded (``LEDGER_FUZZ_EXAMPLES`` examples per operation, default 24,
derandomized so that ``make test`` is repeatable); ``make fuzz`` runs it longer
and with fresh randomness. It runs on PostgreSQL only: it tests the HTTP layer and
its mapping of errors, which does not depend on the backend, and PostgreSQL is the
stricter of the two (NUL bytes, integer ranges, encodings) and production's;
running it twice would double the suite's longest test.

Generated ids are random, so most would name nothing; half the cases have their
path ids replaced by small ones (1 to 4) that name rows of the world built first,
to reach the operations' own rules.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.errors import UnsupportedSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.security.authz_matrix import MATRIX
from tests.test_api_conventions import build_world

pytestmark = pytest.mark.postgresql_only

EXAMPLES_PER_OPERATION = int(os.environ.get("LEDGER_FUZZ_EXAMPLES", "24"))
RANDOM = os.environ.get("LEDGER_FUZZ_RANDOM") == "1"
MIN_REQUESTS = int(os.environ.get("LEDGER_FUZZ_MIN_REQUESTS", "1000"))

CALLERS = {
    "anonymous": None,
    "admin": "admin",
    "clerk": "clerk",
    "committee_member": "member-un",
    "treasurer": "treasurer",
    "compliance": "compliance",
    "auditor": "auditor",
}

BOTH = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

# The authorization matrix, keyed as the OpenAPI document names paths.
ALLOWED = {
    (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)): roles
    for (method, rule), roles in MATRIX.items()
}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@dataclass
class Tally:
    """What the run sent and saw."""

    sent: dict[str, int] = field(default_factory=dict)  # per operation
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # A valid token answered 401: the fuzzer would be testing the door only.
    refused_valid_tokens: list[str] = field(default_factory=list)
    valid_input_only: list[str] = field(default_factory=list)


def _fuzz(
    operation: Any,
    tokens: dict[str, str | None],
    spare_token_ids: list[int],
    tally: Tally,
    modes: tuple[GenerationMode, ...],
) -> None:
    """Send EXAMPLES_PER_OPERATION generated requests to one operation, checking each."""
    label = f"{operation.method.upper()} {operation.path}"
    tally.sent.setdefault(label, 0)
    cases = st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in modes))
    # Half the time a caller the matrix lets in, so that the operation's own rules
    # are reached, not only its door.
    door = ALLOWED.get((operation.method.upper(), operation.path), frozenset())
    allowed = sorted(c for c in tokens if c in door)
    callers = st.sampled_from(sorted(tokens))
    if allowed:
        callers = st.one_of(st.sampled_from(allowed), callers)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        # Shrinking would spend the budget on one failure; the failure is
        # reported as generated, with the caller, and is reproducible.
        phases=[Phase.explicit, Phase.generate],
        # Generation is slow for the larger bodies, and the world built once is
        # shared by every example on purpose.
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, caller=callers, data=st.data())
    def run(case: Any, caller: str, data: st.DataObject) -> None:
        if case.path_parameters and data.draw(st.booleans(), label="small ids"):
            for name, value in case.path_parameters.items():
                if isinstance(value, int):
                    case.path_parameters[name] = data.draw(st.integers(1, 4), label=name)
        if "token_id" in (case.path_parameters or {}):
            # Revoking the callers' own tokens would end the run: spare ones only.
            case.path_parameters["token_id"] = data.draw(st.sampled_from(spare_token_ids))
        # schemathesis fills in a random bearer token from the security scheme:
        # replace it with the caller's, or drop it for an anonymous caller.
        token = tokens[caller]
        headers = dict(case.headers or {})
        headers.pop("Authorization", None)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        case.headers = headers
        response = case.call()
        tally.sent[label] += 1
        tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1
        if response.status_code == 401 and token:
            tally.refused_valid_tokens.append(f"{label} as {caller}: {response.text[:300]}")
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:
            found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
            detail = "\n".join(f"{type(e).__name__}: {e}" for e in found)
            tally.failures.append(
                f"{label} as {caller}: {case.as_curl_command()}\n"
                f"-> {response.status_code} {response.text[:500]}\n{detail}"
            )

    run()


def test_fuzz_every_operation_as_every_caller(app, ledger):
    build_world(ledger)
    tokens = {name: ledger.tokens[user] if user else None for name, user in CALLERS.items()}
    spare_user = ledger.user_ids["clerk2"]
    spare_token_ids = [
        ledger.call("POST", f"/users/{spare_user}/tokens", "admin", expect=201)["token_id"]
        for _ in range(3)
    ] + [999_999]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    tally = Tally()
    started = time.monotonic()

    for operation in operations:
        try:
            _fuzz(operation, tokens, spare_token_ids, tally, BOTH)
        except UnsupportedSchema:
            # schemathesis cannot write invalid input for some schemas: valid only.
            tally.valid_input_only.append(f"{operation.method.upper()} {operation.path}")
            _fuzz(operation, tokens, spare_token_ids, tally, (GenerationMode.POSITIVE,))

    elapsed = time.monotonic() - started
    total = sum(tally.sent.values())
    print(f"schemathesis: {total} requests over {len(operations)} operations in {elapsed:.0f} s")
    print(f"statuses: {dict(sorted(tally.statuses.items()))}")
    print(f"valid input only: {tally.valid_input_only}")
    failures = tally.failures
    assert not failures, f"{len(failures)} failing cases:\n\n" + "\n\n".join(failures[:20])
    assert not tally.refused_valid_tokens, "\n".join(tally.refused_valid_tokens[:20])
    never = [k for k, v in tally.sent.items() if not v]
    assert not never, f"operations never called: {never}"
    assert total >= MIN_REQUESTS, f"only {total} requests were generated"
