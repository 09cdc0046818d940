"""Drive the ledger through its API, as its users would.

``LedgerDriver`` creates staff with tokens (directly, like ``users create``) and
offers one method per step of the money path. Each call asserts the status it
expects and returns the JSON body, so a test reads as the story it checks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ledger.auth.services import create_user
from ledger.auth.tokens import issue_token
from ledger.db import clock_at

API = "/api/v1"

MEMBERS = [("Egypt", True), ("UN", False), ("EU", False), ("Qatar", False)]


class ApiError(AssertionError):
    pass


class LedgerDriver:
    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app = app
        self.client = client
        self._clock = ExitStack()
        self.tokens: dict[str, str] = {}
        self.user_ids: dict[str, int] = {}
        for name, roles in [
            ("admin", ["admin"]),
            ("clerk", ["clerk"]),
            ("clerk2", ["clerk"]),
            ("treasurer", ["treasurer"]),
            ("treasurer2", ["treasurer"]),
            ("compliance", ["compliance"]),
            ("compliance2", ["compliance"]),
            ("auditor", ["auditor"]),
        ]:
            self.user(name, roles)
        for institution, chair in MEMBERS:
            self.user(f"member-{institution.lower()}", ["committee_member"], institution, chair)
        # A second member of Egypt, to test "distinct institutions".
        self.user("member-egypt2", ["committee_member"], "Egypt", False)

    # ------------------------------------------------------------------ plumbing

    def on(self, day: str, hour: int = 10) -> None:
        """From now on (until the next ``on``, or ``now()``), the ledger's clock
        reads ``hour``:00 UTC of ``day``: a scenario told on its dates, as the demo
        is (``ledger.db.clock_at``), so that approvals come before the payments
        dated after them."""
        self.now()
        moment = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC)
        self._clock.enter_context(clock_at(moment))

    def now(self) -> None:
        """Back to the real clock."""
        self._clock.close()

    def user(
        self, name: str, roles: list[str], institution: str | None = None, chair: bool = False
    ) -> str:
        """Create a user with a token; return the token."""
        with self.app.app_context():
            sessionmaker = self.app.extensions["ledger.db"].sessionmaker
            with sessionmaker() as session, session.begin():
                user = create_user(
                    session, None, name=name, roles=roles, institution=institution, is_chair=chair
                )
                self.tokens[name] = issue_token(session, user)
                self.user_ids[name] = user.id
        return self.tokens[name]

    def raw(
        self,
        method: str,
        path: str,
        as_: str | None,
        body: Any = None,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        hdrs = dict(headers or {})
        if as_ is not None:
            hdrs["Authorization"] = f"Bearer {self.tokens.get(as_, as_)}"
        if key is not None:
            hdrs["Idempotency-Key"] = key
        return self.client.open(API + path, method=method, json=body, headers=hdrs)

    def call(
        self,
        method: str,
        path: str,
        as_: str | None,
        body: Any = None,
        *,
        expect: int = 200,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        response = self.raw(method, path, as_, body, key=key, headers=headers)
        if response.status_code != expect:
            raise ApiError(
                f"{method} {path} as {as_}: expected {expect}, got {response.status_code}: "
                f"{response.get_data(as_text=True)[:2000]}"
            )
        return response.get_json()

    def get(self, path: str, as_: str = "auditor", **kw: Any) -> Any:
        return self.call("GET", path, as_, **kw)

    # ------------------------------------------------------------------ the money path

    def fund(self, name: str = "Gaza Reconstruction Fund", base_currency: str = "USD") -> Any:
        return self.call(
            "POST", "/funds", "admin", {"name": name, "base_currency": base_currency}, expect=201
        )

    def donor(self, name: str = "State of Qatar", kind: str = "government", country: str = "QA"):  # type: ignore[no-untyped-def]
        return self.call(
            "POST", "/donors", "clerk", {"name": name, "kind": kind, "country": country}, expect=201
        )

    def pledge(
        self,
        fund_id: int,
        donor_id: int,
        amount: str,
        currency: str = "USD",
        pledged_on: str = "2021-05-26",
        **extra: Any,
    ) -> Any:
        body = {
            "fund_id": fund_id,
            "donor_id": donor_id,
            "amount": amount,
            "currency": currency,
            "pledged_on": pledged_on,
            **extra,
        }
        return self.call("POST", "/pledges", "clerk", body, expect=201)

    def contribute(
        self,
        pledge_id: int,
        amount: str,
        currency: str = "USD",
        received_on: str = "2021-06-15",
        *,
        expect: int = 201,
        key: str | None = None,
        **extra: Any,
    ) -> Any:
        body = {
            "amount": amount,
            "currency": currency,
            "received_on": received_on,
            "reference": f"BANK-{uuid.uuid4().hex[:8]}",
            **extra,
        }
        return self.call(
            "POST",
            f"/pledges/{pledge_id}/contributions",
            "treasurer",
            body,
            expect=expect,
            key=key or str(uuid.uuid4()),
        )

    def project(
        self,
        fund_id: int,
        name: str = "Shelter repair, Gaza City",
        sector: str = "housing",
        location: str = "Gaza City",
    ) -> Any:
        body = {"fund_id": fund_id, "name": name, "sector": sector, "location": location}
        return self.call("POST", "/projects", "clerk", body, expect=201)

    def payee(self, name: str = "Al-Bina Contracting Company", **extra: Any) -> Any:
        body = {"name": name, "kind": "organization", "country": "PS", **extra}
        return self.call("POST", "/payees", "clerk", body, expect=201)

    def related_party(
        self, payee_id: int, name: str, role: str = "owner", kind: str = "person"
    ) -> Any:
        """An owner, director or signatory of the payee (which is screened again)."""
        body = {"name": name, "kind": kind, "role": role}
        return self.call("POST", f"/payees/{payee_id}/related-parties", "clerk", body, expect=201)

    def request(
        self,
        fund_id: int,
        project_id: int,
        payee_id: int,
        amount: str,
        currency: str = "USD",
        *,
        as_: str = "clerk",
        expect: int = 201,
        **extra: Any,
    ) -> Any:
        body = {
            "fund_id": fund_id,
            "project_id": project_id,
            "payee_id": payee_id,
            "amount": amount,
            "currency": currency,
            "purpose": "Repair of damaged housing units",
            **extra,
        }
        return self.call("POST", "/spending-requests", as_, body, expect=expect)

    def vote(
        self, request_id: int, member: str, decision: str = "approve", *, expect: int = 201
    ) -> Any:
        return self.call(
            "POST",
            f"/spending-requests/{request_id}/votes",
            member,
            {"decision": decision, "comment": f"{decision} by {member}"},
            expect=expect,
        )

    def approve(self, request_id: int) -> Any:
        """Vote approve with the four members (chair first) until the request is decided."""
        result = None
        for institution, _chair in MEMBERS:
            result = self.vote(request_id, f"member-{institution.lower()}")
            if result["spending_request"]["status"] != "pending":
                return result["spending_request"]
        raise AssertionError(f"request {request_id} not decided: {result}")

    def disburse(
        self,
        request_id: int,
        amount: str,
        currency: str = "USD",
        *,
        as_: str = "treasurer",
        expect: int = 201,
        key: str | None = None,
        **extra: Any,
    ) -> Any:
        body = {
            "spending_request_id": request_id,
            "amount": amount,
            "currency": currency,
            "reference": f"PAY-{uuid.uuid4().hex[:8]}",
            **extra,
        }
        return self.call(
            "POST", "/disbursements", as_, body, expect=expect, key=key or str(uuid.uuid4())
        )

    def funded(self, received: str = "1000000.00", pledged: str | None = None) -> dict[str, Any]:
        """A fund with one donor's pledge, money received, a project and a payee."""
        fund = self.fund()
        donor = self.donor()
        pledge = self.pledge(fund["id"], donor["id"], pledged or received)
        self.contribute(pledge["id"], received)
        project = self.project(fund["id"])
        payee = self.payee()
        return {"fund": fund, "donor": donor, "pledge": pledge, "project": project, "payee": payee}

    def approved(self, amount: str = "100000.00", received: str = "1000000.00") -> dict[str, Any]:
        """A funded fund with an approved spending request of ``amount``."""
        world = self.funded(received)
        req = self.request(
            world["fund"]["id"], world["project"]["id"], world["payee"]["id"], amount
        )
        world["request"] = self.approve(req["id"])
        return world

    def position(self, fund_id: int, as_of: str | None = None) -> Any:
        query = f"?fund_id={fund_id}" + (f"&as_of={as_of}" if as_of else "")
        return self.get(f"/reports/fund-position{query}")

    def trial_balance(self, fund_id: int, as_of: str | None = None) -> Any:
        query = f"?fund_id={fund_id}" + (f"&as_of={as_of}" if as_of else "")
        return self.get(f"/reports/trial-balance{query}")


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the application sends meanwhile."""
    engine: sa.Engine = app.extensions["ledger.db"].engine
    seen: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
