"""Property-based: random sequences of pledges, contributions, requests, votes,
disbursements and reversals, in several currencies and earmarks. After every step:
the trial balance is zero; nothing is committed beyond cash or outside an earmark;
nothing is disbursed beyond an approval; the donor traces add up."""

import uuid
from collections import defaultdict

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import LedgerDriver

DONORS = [("Arab Republic of Egypt", "EG"), ("European Union", "BE"), ("Government of Japan", "JP")]
CURRENCIES = {"USD": None, "EUR": "1.1875", "JPY": "0.0091"}
SECTORS = [None, "housing", "water_sanitation"]
PROJECTS = [
    ("Shelter repair", "housing", "Gaza City"),
    ("Water network", "water_sanitation", "Khan Younis"),
]

amounts = st.integers(min_value=1, max_value=5_000)
step = st.one_of(
    st.tuples(
        st.just("pledge"),
        st.integers(0, 2),
        st.sampled_from(list(CURRENCIES)),
        amounts,
        st.sampled_from(SECTORS),
    ),
    st.tuples(st.just("contribute"), st.integers(0, 9), st.integers(1, 100)),
    st.tuples(st.just("request"), st.integers(0, 1), st.sampled_from(["USD", "EUR"]), amounts),
    st.tuples(st.just("approve"), st.integers(0, 9)),
    st.tuples(st.just("disburse"), st.integers(0, 9), st.integers(1, 100)),
    st.tuples(st.just("reverse_disbursement"), st.integers(0, 9)),
    st.tuples(st.just("reverse_contribution"), st.integers(0, 9)),
    st.tuples(st.just("decrease"), st.integers(0, 9), st.integers(0, 100)),
)


def money(units, currency):
    return str(units) if currency == "JPY" else f"{units}.00"


class World:
    def __init__(self, ledger):
        self.ledger = ledger
        self.fund = ledger.fund()["id"]
        self.donors = [ledger.donor(n, "government", c)["id"] for n, c in DONORS]
        self.projects = [ledger.project(self.fund, *p)["id"] for p in PROJECTS]
        self.payee = ledger.payee()["id"]
        self.pledges, self.contributions, self.requests, self.disbursements = [], [], [], []

    def pick(self, items, i):
        return items[i % len(items)] if items else None

    def run(self, op):
        ledger, kind = self.ledger, op[0]
        if kind == "pledge":
            _, d, currency, units, sector = op
            body = {
                "fund_id": self.fund,
                "donor_id": self.donors[d],
                "amount": money(units, currency),
                "currency": currency,
                "pledged_on": "2021-06-01",
            }
            if CURRENCIES[currency]:
                body["fx_rate"] = CURRENCIES[currency]
            if sector:
                body["earmark"] = {"sector": sector}
            r = ledger.raw("POST", "/pledges", "clerk", body)
            if r.status_code == 201:
                self.pledges.append(r.get_json())
            return r
        if kind == "contribute":
            pledge = self.pick(self.pledges, op[1])
            if pledge is None:
                return None
            state = ledger.get(f"/pledges/{pledge['id']}")
            outstanding = state["outstanding"]
            currency = pledge["currency"]
            digits = 0 if currency == "JPY" else 2
            whole = int(outstanding.replace(".", "")) * op[2] // 100
            if whole <= 0:
                return None
            amount = str(whole) if digits == 0 else f"{whole // 100}.{whole % 100:02d}"
            body = {
                "amount": amount,
                "currency": currency,
                "received_on": "2021-07-01",
                "reference": uuid.uuid4().hex[:10],
            }
            if CURRENCIES[currency]:
                body["fx_rate"] = CURRENCIES[currency]
            r = ledger.raw(
                "POST",
                f"/pledges/{pledge['id']}/contributions",
                "treasurer",
                body,
                key=str(uuid.uuid4()),
            )
            if r.status_code == 201:
                self.contributions.append(r.get_json())
            return r
        if kind == "request":
            _, p, currency, units = op
            body = {
                "fund_id": self.fund,
                "project_id": self.projects[p],
                "payee_id": self.payee,
                "amount": money(units, currency),
                "currency": currency,
                "purpose": "works",
            }
            if CURRENCIES[currency]:
                body["fx_rate"] = CURRENCIES[currency]
            r = ledger.raw("POST", "/spending-requests", "clerk", body)
            if r.status_code == 201:
                self.requests.append(r.get_json())
            return r
        if kind == "approve":
            request = self.pick(self.requests, op[1])
            if request is None:
                return None
            for member in ("member-egypt", "member-un", "member-eu", "member-qatar"):
                r = ledger.raw(
                    "POST",
                    f"/spending-requests/{request['id']}/votes",
                    member,
                    {"decision": "approve", "comment": "ok"},
                )
                if r.status_code != 201 or r.get_json()["spending_request"]["status"] != "pending":
                    return r
            return r
        if kind == "disburse":
            request = self.pick(self.requests, op[1])
            if request is None:
                return None
            state = ledger.get(f"/spending-requests/{request['id']}")
            cents = int(state["remaining"].replace(".", "")) * op[2] // 100
            if cents <= 0:
                return None
            body = {
                "spending_request_id": request["id"],
                "amount": f"{cents // 100}.{cents % 100:02d}",
                "currency": request["currency"],
                "reference": uuid.uuid4().hex[:10],
                "paid_on": "2021-08-01",
            }
            if CURRENCIES[request["currency"]]:
                body["fx_rate"] = CURRENCIES[request["currency"]]
            r = ledger.raw("POST", "/disbursements", "treasurer", body, key=str(uuid.uuid4()))
            if r.status_code == 201:
                self.disbursements.append(r.get_json())
            return r
        if kind == "reverse_disbursement":
            d = self.pick(self.disbursements, op[1])
            if d is None:
                return None
            return ledger.raw(
                "POST",
                f"/disbursements/{d['id']}/reverse",
                "treasurer",
                {"reason": "returned"},
                key=str(uuid.uuid4()),
            )
        if kind == "reverse_contribution":
            c = self.pick(self.contributions, op[1])
            if c is None:
                return None
            return ledger.raw(
                "POST",
                f"/contributions/{c['id']}/reverse",
                "treasurer",
                {"reason": "returned"},
                key=str(uuid.uuid4()),
            )
        if kind == "decrease":
            request = self.pick(self.requests, op[1])
            if request is None:
                return None
            state = ledger.get(f"/spending-requests/{request['id']}")
            if state["status"] != "approved":
                return None
            amount = int(state["amount"].replace(".", ""))
            paid = int(state["disbursed"].replace(".", ""))
            cents = paid + (amount - paid) * op[2] // 100
            return ledger.raw(
                "POST",
                f"/spending-requests/{request['id']}/decrease",
                "clerk",
                {
                    "amount": f"{cents // 100}.{cents % 100:02d}",
                    "currency": request["currency"],
                    "reason": "scope",
                },
            )
        raise AssertionError(kind)


def check_invariants(session, world):
    q = lambda sql: session.execute(sa.text(sql)).all()  # noqa: E731
    # 1. The trial balance is zero, per currency and in base.
    for currency, total in q(
        "SELECT currency, SUM(amount_minor) FROM journal_lines GROUP BY currency"
    ):
        assert int(total) == 0, currency
    assert (
        int(
            session.scalar(sa.text("SELECT COALESCE(SUM(base_amount_minor), 0) FROM journal_lines"))
        )
        == 0
    )
    # 2. Nothing committed beyond cash: no contribution over-allocated.
    for cid, base, allocated in q(
        "SELECT c.id, c.base_amount_minor, COALESCE(SUM(a.base_amount_minor), 0) "
        "FROM contributions c LEFT JOIN allocations a ON a.contribution_id = c.id "
        "GROUP BY c.id, c.base_amount_minor"
    ):
        assert 0 <= int(allocated) <= int(base), cid
    # 2b. ...nor outside an earmark.
    rows = q(
        "SELECT p.earmark_sector, pr.sector FROM allocations a "
        "JOIN contributions c ON c.id = a.contribution_id JOIN pledges p ON p.id = c.pledge_id "
        "JOIN spending_requests r ON r.id = a.spending_request_id "
        "JOIN projects pr ON pr.id = r.project_id WHERE a.base_amount_minor > 0"
    )
    for earmark, sector in rows:
        assert earmark is None or earmark == sector
    # 3. Nothing disbursed beyond an approval.
    for rid, amount, disbursed in q(
        "SELECT id, amount_minor, disbursed_minor FROM spending_requests"
    ):
        assert 0 <= int(disbursed) <= int(amount), rid
        paid = session.scalar(
            sa.text(
                "SELECT COALESCE(SUM(amount_minor), 0) FROM disbursements "
                "WHERE spending_request_id = :r AND reversed_at IS NULL"
            ),
            {"r": rid},
        )
        assert int(paid) == int(disbursed)
    # 4. The donor traces add up to the contributions.
    totals = defaultdict(int)
    for donor_id in world.donors:
        trace = world.ledger.get(f"/reports/donor-trace?donor_id={donor_id}")
        for total in trace["totals"]:
            parts = sum(int(total[k].replace(".", "")) for k in ("disbursed", "committed", "free"))
            assert parts == int(total["contributed"].replace(".", ""))
            totals["disbursed"] += int(total["disbursed"].replace(".", ""))
    attributed = session.scalar(
        sa.text("SELECT COALESCE(SUM(base_amount_minor), 0) FROM disbursement_allocations")
    )
    assert totals["disbursed"] == int(attributed)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=4, max_size=18))
def test_random_money_paths_keep_the_books_true(app, session, empty_tables, steps):
    session.rollback()
    empty_tables()
    ledger = LedgerDriver(app, app.test_client())
    world = World(ledger)
    for op in steps:
        response = world.run(op)
        if response is not None:
            assert response.status_code < 500, (op, response.get_data(as_text=True))
        try:
            check_invariants(session, world)
        finally:
            session.rollback()  # end the read, so that the next step can write (SQLite)
