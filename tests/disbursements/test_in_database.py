"""The PostgreSQL payment function (``ledger_disburse``) against the Python path.

The same payments, made in two identical funds, once by the Python path and once
by the function, must leave the same rows: disbursements, journal entries and
lines, attributions to contributions, the request's paid amount and the audit
events. And whatever the function does not plainly allow goes to the Python path,
which refuses with the evidence."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from ledger.db import database_key
from ledger.screening import services as screening_services
from ledger.screening.services import name_index
from tests.screening.test_screening_flow import upload

pytestmark = pytest.mark.postgresql_only


@pytest.fixture(autouse=True)
def usual_way(app, monkeypatch):
    """These tests watch the function as the usual request handling asks it; the fast
    lane, which asks it through ``ledger_pay()``, has its own (test_fast_lane.py)."""
    monkeypatch.setitem(app.config, "PAYMENTS_FAST_LANE", False)


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


def calls(seen: list[str]) -> int:
    return sum("ledger_disburse(" in s for s in seen)


def python_path_locks(seen: list[str]) -> int:
    """lock_request(): the Python path's SELECT … FOR UPDATE of the request."""
    return sum("FROM spending_requests" in s and "FOR UPDATE" in s for s in seen)


def world(ledger: Any, tag: str) -> dict[str, Any]:
    """A fund whose request of 1,000.00 is backed by two contributions (600 + 400),
    so that payments are attributed across both."""
    fund = ledger.fund(f"Fund {tag}")
    donor = ledger.donor(f"Donor {tag}")
    contributions = []
    for amount in ("600.00", "400.00"):
        pledge = ledger.pledge(fund["id"], donor["id"], amount)
        contributions.append(ledger.contribute(pledge["id"], amount))
    project = ledger.project(fund["id"], f"Shelter repair {tag}")
    payee = ledger.payee(f"Al-Bina Contracting Company {tag}")
    request = ledger.request(fund["id"], project["id"], payee["id"], "1000.00")
    return {"fund": fund, "request": ledger.approve(request["id"]), "payee": payee}


def pay_the_sequence(ledger: Any, request_id: int) -> None:
    """Payments within the first contribution, across both, a return by the bank
    (which frees the first contribution again), and the last payment."""
    first = ledger.disburse(request_id, "250.00", paid_on="2021-07-01")
    ledger.disburse(request_id, "500.00", paid_on="2021-07-02")
    ledger.call(
        "POST",
        f"/disbursements/{first['id']}/reverse",
        "treasurer",
        {"reason": "Account closed", "value_date": "2021-07-03"},
        key=f"reverse-{first['id']}",
    )
    ledger.disburse(request_id, "200.00", paid_on="2021-07-04")
    ledger.disburse(request_id, "300.00", paid_on="2021-07-05")  # the last: what remains


def written(session: Any, fund_id: int) -> dict[str, Any]:
    """Everything the payments wrote for the fund, with ids made relative (the n-th
    row of its kind) and times left out."""
    q = session.execute
    disbursements = q(
        sa.text(
            "SELECT * FROM disbursements WHERE fund_id = :f ORDER BY id",
        ),
        {"f": fund_id},
    ).mappings()
    rows = [dict(r) for r in disbursements]
    ids = {r["id"]: n for n, r in enumerate(rows)}
    contributions = {
        cid: n
        for n, (cid,) in enumerate(
            q(
                sa.text("SELECT id FROM contributions WHERE fund_id = :f ORDER BY id"),
                {"f": fund_id},
            )
        )
    }

    def memo(text: str) -> str:
        """Ids, references and the payee's tag made alike."""
        text = re.sub(r"Company [A-Z] ", "Company T ", re.sub(r"PAY-\w+", "PAY-X", text))
        return re.sub(r"\d+", "N", text)

    out: dict[str, Any] = {"disbursements": []}
    for r in rows:
        screening = dict(r["screening"])
        screening.pop("checked_at")
        out["disbursements"].append(
            (
                r["amount_minor"],
                r["currency"],
                r["fx_rate"],
                r["base_amount_minor"],
                r["paid_on"],
                r["created_by"],
                r["reversed_at"] is not None,
                r["reversal_reason"],
                screening,
            )
        )
    out["entries"] = [
        (kind, value_date, memo(text), ids[source_id], created_by)
        for kind, value_date, text, source_id, created_by in q(
            sa.text(
                "SELECT kind, value_date, memo, source_id, created_by FROM journal_entries "
                "WHERE fund_id = :f AND source_type = 'disbursement' ORDER BY id"
            ),
            {"f": fund_id},
        )
    ]
    out["lines"] = [
        tuple(line)
        for line in q(
            sa.text(
                "SELECT l.kind, l.account, l.currency, l.amount_minor, l.base_amount_minor, "
                "l.value_date, l.project_id IS NOT NULL, l.payee_id IS NOT NULL, "
                "l.spending_request_id IS NOT NULL FROM journal_lines l "
                "JOIN journal_entries e ON e.id = l.entry_id "
                "WHERE l.fund_id = :f AND e.source_type = 'disbursement' ORDER BY l.id"
            ),
            {"f": fund_id},
        )
    ]
    out["attributions"] = [
        (ids[d], contributions[c], amount, value_date)
        for d, c, amount, value_date in q(
            sa.text(
                "SELECT da.disbursement_id, da.contribution_id, da.base_amount_minor, "
                "da.value_date FROM disbursement_allocations da "
                "JOIN disbursements d ON d.id = da.disbursement_id "
                "WHERE d.fund_id = :f ORDER BY da.id"
            ),
            {"f": fund_id},
        )
    ]
    out["paid"] = q(
        sa.text("SELECT disbursed_minor FROM spending_requests WHERE fund_id = :f"),
        {"f": fund_id},
    ).scalar_one()
    events = []
    for action, entity_type, entity_id, before, after in q(
        sa.text(
            "SELECT action, entity_type, entity_id, before, after FROM audit_events "
            "WHERE action LIKE 'disbursement.%' OR action LIKE 'spending_request.%' "
            "ORDER BY seq"
        )
    ):
        states = [before, after]
        if entity_type == "disbursements":
            if int(entity_id) not in ids:
                continue
            states = [_plain(s, screening=True) for s in states]
        else:
            if not (after or before) or (after or before).get("fund_id") != fund_id:
                continue
            states = [_plain(s) for s in states]
        events.append((action, entity_type, states))
    out["events"] = events
    return out


def _plain(state: dict[str, Any] | None, screening: bool = False) -> dict[str, Any] | None:
    if state is None:
        return None
    drop = {"id", "fund_id", "project_id", "payee_id", "spending_request_id"}
    drop |= {"created_at", "decided_at", "expires_at", "reversed_at", "decision", "purpose"}
    drop |= {"reference"}  # random in the driver
    plain = {k: v for k, v in state.items() if k not in drop}
    if screening and "screening" in plain:
        plain["screening"] = {k: v for k, v in plain["screening"].items() if k != "checked_at"}
    return plain


def test_the_function_writes_what_the_python_path_writes(app, ledger, session, monkeypatch):
    name_index(session)  # as after any first payment: the index this process screens with
    by_python = world(ledger, "A")
    by_function = world(ledger, "B")

    monkeypatch.setitem(app.config, "PAYMENTS_IN_DATABASE", False)
    with statements(app) as seen:
        pay_the_sequence(ledger, by_python["request"]["id"])
    assert calls(seen) == 0

    monkeypatch.setitem(app.config, "PAYMENTS_IN_DATABASE", True)
    with statements(app) as seen:
        pay_the_sequence(ledger, by_function["request"]["id"])
    # Four payments ask the function; the last one (what remains of the commitment)
    # and the return are left to Python.
    assert calls(seen) == 4
    assert python_path_locks(seen) == 2

    a = same_writes(ledger, session, by_python, by_function)
    assert len(a["disbursements"]) == 4
    # 500 and the last 300 each span both contributions; a return is one negative row.
    assert len(a["attributions"]) == 7


def same_writes(ledger: Any, session: Any, a: dict[str, Any], b: dict[str, Any]) -> Any:
    """What the payments wrote in fund ``a`` is what they wrote in ``b``, both funds'
    books balance and the audit chain holds; ``a``'s rows."""
    rows_a, rows_b = written(session, a["fund"]["id"]), written(session, b["fund"]["id"])
    for part in ("disbursements", "entries", "lines", "attributions", "paid", "events"):
        assert rows_a[part] == rows_b[part], part
    for fund in (a, b):
        assert ledger.trial_balance(fund["fund"]["id"])["balanced"] is True
    assert ledger.get("/audit-events/verify")["valid"] is True
    return rows_a


def test_the_response_and_its_replay_are_those_of_the_python_path(app, ledger, session):
    name_index(session)
    fund = world(ledger, "C")
    key = "same-key-twice"
    body = {
        "spending_request_id": fund["request"]["id"],
        "amount": "12.34",
        "currency": "USD",
        "reference": "PAY-REPLAY",
        "paid_on": "2021-07-01",
    }
    with statements(app) as seen:
        first = ledger.raw("POST", "/disbursements", "treasurer", body, key=key)
        again = ledger.raw("POST", "/disbursements", "treasurer", body, key=key)
    assert calls(seen) == 1
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    paid = first.get_json()
    assert paid["amount"] == "12.34" and paid["base_currency"] == "USD"
    assert paid["base_amount"] == "12.34" and paid["fx_rate"] is None
    assert paid["screening"]["state"] == "clear"
    assert ledger.get(f"/disbursements/{paid['id']}", "treasurer") == paid


def fund_list(*rows: str) -> bytes:
    head = (
        "id,kind,name,aliases,weak_aliases,original_script_name,birth_date,nationality,"
        "identifiers,programme,listed_on,remarks\n"
    )
    return (head + "".join(f"{row}\n" for row in rows)).encode()


def upload_fund_list(ledger: Any, data: bytes) -> None:
    response = upload(ledger, "fund", "fund.csv", data)
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_payee_changed_behind_the_applications_back_is_searched_again(ledger, session):
    """The function returns a digest of the payee's row and parties: a payee found
    clear before is searched again when it changed, and a new hit refuses the
    payment with nothing of the function's writes left."""
    upload_fund_list(ledger, fund_list("F-1,person,Khalil Abu Shaaban,,,,1970,PS,,FUND,,"))
    name_index(session)
    fund = world(ledger, "D")
    request_id = fund["request"]["id"]
    ledger.disburse(request_id, "10.00")
    ledger.disburse(request_id, "10.00")  # found clear before: not searched again

    session.execute(
        sa.text("UPDATE payees SET name = 'Khaleel Abu Shaaban' WHERE id = :p"),
        {"p": fund["payee"]["id"]},
    )
    session.commit()
    before = session.execute(sa.text("SELECT count(*) FROM journal_entries")).scalar_one()
    refused = ledger.disburse(request_id, "10.00", expect=409)
    assert refused["code"] == "payee_restricted"
    assert "possible match with fund entry fund:F-1" in refused["detail"]
    assert session.execute(sa.text("SELECT count(*) FROM journal_entries")).scalar_one() == before
    paid = session.execute(
        sa.text("SELECT disbursed_minor FROM spending_requests WHERE id = :r"), {"r": request_id}
    ).scalar_one()
    assert paid == 2000
    cases = ledger.get(f"/review-cases?payee_id={fund['payee']['id']}", "compliance")["items"]
    assert len(cases) == 1
    refusal = ledger.get("/refusals?code=payee_restricted")["items"][-1]
    assert refusal["evidence"]["blocks"][0]["reason"] == "new_watchlist_hit"


def test_a_new_list_version_sends_the_payment_to_the_python_path(app, ledger, session):
    """The function pays only against the lists the caller's index was built from:
    here, as in a worker process that built its index before another one imported
    a new version."""
    name_index(session)
    fund = world(ledger, "E")
    ledger.disburse(fund["request"]["id"], "10.00")
    url = database_key(session)
    built_before = screening_services._cache[url]
    upload_fund_list(ledger, fund_list("F-9,person,Someone Unrelated,,,,1970,PS,,FUND,,"))
    screening_services._cache[url] = built_before
    with statements(app) as seen:
        ledger.disburse(fund["request"]["id"], "10.00")
        ledger.disburse(fund["request"]["id"], "10.00")
    # The first asks, finds the lists newer than its index and pays in Python (which
    # rebuilds the index); the second is paid by the function.
    assert calls(seen) == 2
    assert python_path_locks(seen) == 1


@pytest.mark.parametrize(
    "arrange, status, code",
    [
        ("restricted", 409, "payee_restricted"),
        ("closed", 409, "period_closed"),
        ("over", 409, "exceeds_approval"),
        ("voter", 403, "separation_of_duties"),
    ],
)
def test_what_the_function_does_not_allow_python_refuses(ledger, session, arrange, status, code):
    name_index(session)
    fund = world(ledger, "F")
    request_id = fund["request"]["id"]
    as_, amount = "treasurer", "10.00"
    if arrange == "restricted":
        ledger.call(
            "POST",
            f"/payees/{fund['payee']['id']}/restrictions",
            "compliance",
            {"reason": "Listed by the committee's vetting"},
            expect=201,
        )
    elif arrange == "closed":
        ledger.call(
            "POST",
            f"/funds/{fund['fund']['id']}/periods",
            "treasurer",
            {"period": "2021-07", "reason": "July 2021 books signed."},
            expect=201,
        )
    elif arrange == "over":
        amount = "1000.01"
    elif arrange == "voter":
        ledger.user("member-treasurer", ["committee_member", "treasurer"], "UN")
        donor = ledger.donor("Donor G")
        pledge = ledger.pledge(fund["fund"]["id"], donor["id"], "10.00")
        ledger.contribute(pledge["id"], "10.00")
        request = ledger.request(
            fund["fund"]["id"], fund["request"]["project_id"], fund["payee"]["id"], "10.00"
        )
        ledger.vote(request["id"], "member-treasurer")
        ledger.vote(request["id"], "member-eu")
        request_id, as_ = request["id"], "member-treasurer"
    refused = ledger.disburse(request_id, amount, as_=as_, expect=status, paid_on="2021-07-10")
    assert refused["code"] == code
    assert not session.execute(
        sa.text("SELECT count(*) FROM disbursements WHERE spending_request_id = :r"),
        {"r": request_id},
    ).scalar_one()


def thirty_two_at_once(app: Flask, ledger: Any, request_id: int) -> tuple[list[Any], list[str]]:
    """32 treasurers' payments of 1.00 against one request at once: their answers,
    and the statements sent meanwhile."""
    from tests.disbursements.test_concurrency import race

    body = {"spending_request_id": request_id, "amount": "1.00", "currency": "USD"}
    with statements(app) as seen:
        results = race(
            app,
            ledger.tokens["treasurer"],
            [dict(body, reference=f"P-{i}") for i in range(32)],
            [f"race-{i}" for i in range(32)],
        )
    return results, seen


def test_simultaneous_payments_through_the_function_stay_within_the_approval(app, ledger, session):
    """32 clients at once on one approval with room for 20 payments: the function
    takes the request's lock, so 19 are paid by it, the 20th (the last) by Python,
    and 12 are refused; every row and the chain add up."""
    name_index(session)
    fund = world(ledger, "G")
    request_id = fund["request"]["id"]
    ledger.call(
        "POST",
        f"/spending-requests/{request_id}/decrease",
        "treasurer",
        {"amount": "20.00", "currency": "USD", "reason": "Scope reduced"},
    )
    results, seen = thirty_two_at_once(app, ledger, request_id)
    codes = sorted(status for status, _ in results)
    assert codes == [201] * 20 + [409] * 12
    assert calls(seen) >= 20
    paid = written(session, fund["fund"]["id"])
    assert len(paid["disbursements"]) == 20
    assert paid["paid"] == 2000
    assert sum(amount for _, _, amount, _ in paid["attributions"]) == 2000
    position = ledger.position(fund["fund"]["id"])["base"]
    assert position["disbursed"] == "20.00"
    assert position["committed_not_disbursed"] == "0.00"
    assert ledger.trial_balance(fund["fund"]["id"])["balanced"] is True
    assert ledger.get("/audit-events/verify")["valid"] is True
