"""Demo data from the 2021 Gaza scenario, loaded by ``make run`` into an empty database.

The demo is a story of 2021, each step on its day: the ledger's clock reads the
story's time while it loads (``ledger.db.clock_at``), so that every record, value
date and audit event follows in order, and a report as of any date of 2021 shows
what stood then. Two requests are still pending today, open for 30 more days, so
that the committee can vote on them.

The demo users' tokens are fixed, well-known values so that the README's examples
work as printed. They are for a local demo only: never load demo data into a
database that holds real money.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.auth.models import User
from ledger.auth.passwords import set_password
from ledger.auth.services import create_user
from ledger.auth.tokens import issue_token
from ledger.committee.policy import QuorumPolicy
from ledger.committee.services import (
    cancel_request,
    cast_vote,
    declare_conflict,
    expire_if_due,
    report_use,
    submit_request,
    withdraw_request,
)
from ledger.compliance.services import restrict_payee
from ledger.db import clock_at
from ledger.disbursements.services import disburse
from ledger.funding.models import Fund
from ledger.funding.services import create_donor, create_fund, create_pledge, record_contribution
from ledger.money import Money
from ledger.payees.services import create_payee
from ledger.projects.services import create_project

# name: (token, roles as shown)
DEMO_TOKENS: dict[str, tuple[str, str]] = {
    "admin": ("demo-admin-token", "admin"),
    "clerk": ("demo-clerk-token", "clerk"),
    "treasurer": ("demo-treasurer-token", "treasurer"),
    "compliance-1": ("demo-compliance-1-token", "compliance"),
    "compliance-2": ("demo-compliance-2-token", "compliance"),
    "auditor": ("demo-auditor-token", "auditor"),
    "member-egypt": ("demo-member-egypt-token", "committee_member (Egypt, chair)"),
    "member-un": ("demo-member-un-token", "committee_member (UN)"),
    "member-eu": ("demo-member-eu-token", "committee_member (EU)"),
    "member-qatar": ("demo-member-qatar-token", "committee_member (Qatar)"),
}


def demo_password(name: str) -> str:
    """The demo user's console password (as well known as its token: demo only)."""
    return f"demo-{name}-password"


_USERS: list[tuple[str, list[str], str | None, bool]] = [
    ("admin", ["admin"], None, False),
    ("clerk", ["clerk"], None, False),
    ("treasurer", ["treasurer"], None, False),
    ("compliance-1", ["compliance"], None, False),
    ("compliance-2", ["compliance"], None, False),
    ("auditor", ["auditor"], None, False),
    ("member-egypt", ["committee_member"], "Egypt", True),
    ("member-un", ["committee_member"], "UN", False),
    ("member-eu", ["committee_member"], "EU", False),
    ("member-qatar", ["committee_member"], "Qatar", False),
]


def usd(text: str) -> Money:
    return Money.parse(text, "USD")


OPENED_ON = dt.date(2021, 5, 17)


@contextmanager
def _story() -> Iterator[Any]:
    """``on(day)``: from now on, until the next ``on``, the ledger's clock reads 10:00
    UTC of ``day`` (a date of the story, given in order)."""
    stack = ExitStack()

    def on(day: dt.date, hour: int = 10) -> None:
        nonlocal stack
        stack.close()
        stack = ExitStack()
        moment = dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)
        stack.enter_context(clock_at(moment))

    try:
        yield on
    finally:
        stack.close()


def load_demo(session: Session, policy: QuorumPolicy, if_empty: bool = True) -> bool:
    """Load the demo fund; with ``if_empty``, only into a database with no fund."""
    if if_empty and session.scalar(select(Fund.id).limit(1)) is not None:
        return False
    with _story() as on:
        _tell(session, policy, on)
    return True


def _days_open_until_next_month(day: dt.date) -> int:
    """A request submitted on ``day`` (in the story) stays open until 30 days from
    today, so that the demo's pending requests can still be voted on."""
    return (dt.datetime.now(dt.UTC).date() - day).days + 30


def _tell(session: Session, policy: QuorumPolicy, on: Any) -> None:
    d = dt.date
    on(OPENED_ON, 9)
    u: dict[str, User] = {}
    for name, roles, institution, chair in _USERS:
        u[name] = create_user(
            session, None, name=name, roles=roles, institution=institution, is_chair=chair
        )
        issue_token(session, u[name], token=DEMO_TOKENS[name][0])
        set_password(session, u[name], demo_password(name))

    fund = create_fund(
        session,
        u["admin"],
        name="Gaza Reconstruction Fund 2021",
        base_currency="USD",
        opens_on=OPENED_ON,
    )
    session.flush()
    clerk, treasurer = u["clerk"], u["treasurer"]
    egypt = create_donor(
        session,
        clerk,
        name="Arab Republic of Egypt",
        kind="government",
        country="EG",
        iati_ref="XM-DAC-EG",
    )
    qatar = create_donor(
        session, clerk, name="State of Qatar", kind="government", country="QA", iati_ref="XM-DAC-QA"
    )
    eu = create_donor(
        session,
        clerk,
        name="European Union",
        kind="multilateral",
        country="BE",
        iati_ref="XI-IATI-EC_INTPA",
    )
    us = create_donor(
        session,
        clerk,
        name="United States of America",
        kind="government",
        country="US",
        iati_ref="US-GOV-1",
    )
    session.flush()

    shelter = create_project(
        session,
        clerk,
        fund_id=fund.id,
        name="Shelter repair, Gaza City",
        sector="housing",
        location="Gaza City",
        budget=usd("40000000.00"),
    )
    water = create_project(
        session,
        clerk,
        fund_id=fund.id,
        name="Water network rehabilitation, Khan Younis",
        sector="water_sanitation",
        location="Khan Younis",
        budget=usd("15000000.00"),
    )
    rubble = create_project(
        session,
        clerk,
        fund_id=fund.id,
        name="Rubble removal, North Gaza",
        sector="rubble_removal",
        location="North Gaza",
        budget=usd("10000000.00"),
    )
    clinics = create_project(
        session,
        clerk,
        fund_id=fund.id,
        name="Primary health clinics, Deir al-Balah",
        sector="health",
        location="Deir al-Balah",
        budget=usd("6000000.00"),
    )
    session.flush()

    on(d(2021, 5, 18))
    p_egypt = create_pledge(
        session,
        clerk,
        fund_id=fund.id,
        donor_id=egypt.id,
        amount=usd("500000000.00"),
        pledged_on=dt.date(2021, 5, 18),
    )
    on(d(2021, 5, 26))
    p_qatar = create_pledge(
        session,
        clerk,
        fund_id=fund.id,
        donor_id=qatar.id,
        amount=usd("500000000.00"),
        pledged_on=dt.date(2021, 5, 26),
    )
    on(d(2021, 6, 1))
    p_eu = create_pledge(
        session,
        clerk,
        fund_id=fund.id,
        donor_id=eu.id,
        amount=Money.parse("50000000.00", "EUR"),
        fx_rate=Decimal("1.2150"),
        pledged_on=dt.date(2021, 6, 1),
    )
    on(d(2021, 6, 3))
    p_us = create_pledge(
        session,
        clerk,
        fund_id=fund.id,
        donor_id=us.id,
        amount=usd("40000000.00"),
        pledged_on=dt.date(2021, 6, 3),
        earmark={"sector": "water_sanitation"},
    )
    session.flush()
    on(d(2021, 6, 15))
    record_contribution(
        session,
        treasurer,
        pledge_id=p_egypt.id,
        amount=usd("25000000.00"),
        received_on=dt.date(2021, 6, 15),
        reference="CBE-2021-0615-001",
    )
    on(d(2021, 6, 20))
    record_contribution(
        session,
        treasurer,
        pledge_id=p_qatar.id,
        amount=usd("30000000.00"),
        received_on=dt.date(2021, 6, 20),
        reference="QNB-2021-0620-114",
    )
    on(d(2021, 7, 1))
    record_contribution(
        session,
        treasurer,
        pledge_id=p_eu.id,
        amount=Money.parse("10000000.00", "EUR"),
        fx_rate=Decimal("1.2180"),
        received_on=dt.date(2021, 7, 1),
        reference="EC-TRF-2021-07-01",
    )
    on(d(2021, 7, 15))
    record_contribution(
        session,
        treasurer,
        pledge_id=p_us.id,
        amount=usd("8000000.00"),
        received_on=dt.date(2021, 7, 15),
        reference="USAID-2021-WS-0007",
    )

    on(d(2021, 7, 19))
    bina = create_payee(
        session,
        clerk,
        name="Al-Bina Contracting Company",
        kind="organization",
        country="PS",
        aliases=["Al Bina Contracting"],
        original_script_name="شركة البناء للمقاولات",
        identifiers=[{"type": "registration", "value": "562310447"}],
        bank_account="PS92PALS000000000400123456702",
        related_parties=[{"name": "Khalil Abu Shaaban", "kind": "person", "role": "director"}],
    )
    waterworks = create_payee(
        session,
        clerk,
        name="Khan Younis Water Works Est.",
        kind="organization",
        country="PS",
        identifiers=[{"type": "registration", "value": "562998120"}],
        bank_account="PS12BJOR000000000120009876501",
    )
    clearing = create_payee(
        session,
        clerk,
        name="North Gaza Rubble Clearance Ltd",
        kind="organization",
        country="PS",
        bank_account="PS45QUIB000000000050001112203",
    )
    health = create_payee(
        session,
        clerk,
        name="Deir al-Balah Health Services Cooperative",
        kind="organization",
        country="PS",
        bank_account="PS77ARAB000000000090004445506",
    )
    flagged = create_payee(
        session,
        clerk,
        name="Al-Nour Construction and Trading",
        kind="organization",
        country="PS",
        bank_account="PS60PIBC000000000070003334405",
    )
    session.flush()
    on(d(2021, 7, 20))
    restrict_payee(
        session,
        u["compliance-1"],
        payee_id=flagged.id,
        reason="Director identified by the committee's vetting as a member of a "
        "designated group (case CV-2021-014).",
    )

    m_eg, m_un, m_eu, m_qa = (u["member-egypt"], u["member-un"], u["member-eu"], u["member-qatar"])

    def request(
        day: dt.date, project_id: int, payee_id: int, amount: str, purpose: str, days: int = 30
    ) -> int:
        on(day)
        r = submit_request(
            session,
            clerk,
            policy,
            fund_id=fund.id,
            project_id=project_id,
            payee_id=payee_id,
            amount=usd(amount),
            purpose=purpose,
            expiry_days=days,
        )
        session.flush()
        return r.id

    # Approved (tier 2) and partly paid.
    r1 = request(
        d(2021, 7, 21),
        shelter.id,
        bina.id,
        "2500000.00",
        "Repair of 400 damaged housing units, phase 1",
    )
    for day, member in ((26, m_eg), (27, m_un), (28, m_eu)):
        on(d(2021, 7, day))
        cast_vote(
            session,
            member,
            policy,
            request_id=r1,
            decision="approve",
            comment="Costed, vetted, within the shelter plan.",
        )
    on(d(2021, 8, 2))
    disburse(
        session,
        treasurer,
        spending_request_id=r1,
        amount=usd("1000000.00"),
        reference="PAY-2021-0001",
        paid_on=dt.date(2021, 8, 2),
    )

    # Approved (tier 1), earmarked US water money, fully paid.
    r2 = request(
        d(2021, 8, 2),
        water.id,
        waterworks.id,
        "180000.00",
        "Pipes and pumps for Bani Suheila network",
    )
    for day, member in ((3, m_un), (4, m_qa)):
        on(d(2021, 8, day))
        cast_vote(
            session,
            member,
            policy,
            request_id=r2,
            decision="approve",
            comment="Urgent: network down since May.",
        )
    on(d(2021, 8, 9))
    disburse(
        session,
        treasurer,
        spending_request_id=r2,
        amount=usd("180000.00"),
        reference="PAY-2021-0002",
        paid_on=dt.date(2021, 8, 9),
    )

    # Rejected by a veto.
    r3 = request(
        d(2021, 8, 10),
        rubble.id,
        clearing.id,
        "900000.00",
        "Clearance of Beit Hanoun industrial zone",
    )
    on(d(2021, 8, 12))
    cast_vote(session, m_eu, policy, request_id=r3, decision="approve", comment="Needed.")
    on(d(2021, 8, 13))
    cast_vote(
        session,
        m_un,
        policy,
        request_id=r3,
        decision="reject",
        comment="UXO survey missing: resubmit with UNMAS clearance.",
    )

    # Pending: one approval of the three needed.
    r4_day = d(2021, 8, 14)
    r4 = request(
        r4_day,
        clinics.id,
        health.id,
        "750000.00",
        "Equipment for three primary clinics",
        days=_days_open_until_next_month(r4_day),
    )
    on(d(2021, 8, 15))
    cast_vote(session, m_qa, policy, request_id=r4, decision="approve", comment="Supported.")

    # Pending, not yet voted on.
    r5_day = d(2021, 8, 15)
    request(
        r5_day,
        rubble.id,
        clearing.id,
        "120000.00",
        "Rubble crushing for road base, Jabalia",
        days=_days_open_until_next_month(r5_day),
    )

    # Expired: never decided in time.
    on(d(2021, 8, 16))
    r6 = submit_request(
        session,
        clerk,
        policy,
        fund_id=fund.id,
        project_id=shelter.id,
        payee_id=bina.id,
        amount=usd("60000.00"),
        purpose="Emergency roofing (superseded)",
        expiry_days=0,
    )
    session.flush()
    on(d(2021, 8, 17))
    expire_if_due(session, r6, None)

    # Withdrawn by its submitter before the committee decided.
    r7 = request(
        d(2021, 8, 18),
        water.id,
        waterworks.id,
        "95000.00",
        "Duplicate of the Bani Suheila request",
    )
    on(d(2021, 8, 19))
    withdraw_request(session, clerk, request_id=r7, reason="Duplicate of request 2.")

    # Approved, partly paid, then cancelled: the unpaid rest goes back to the fund.
    r8 = request(d(2021, 8, 20), rubble.id, clearing.id, "200000.00", "Rubble haulage, Beit Lahia")
    for day, member in ((23, m_eu), (24, m_qa)):
        on(d(2021, 8, day))
        cast_vote(session, member, policy, request_id=r8, decision="approve", comment="Agreed.")
    on(d(2021, 9, 1))
    disburse(
        session,
        treasurer,
        spending_request_id=r8,
        amount=usd("50000.00"),
        reference="PAY-2021-0003",
        paid_on=dt.date(2021, 9, 1),
    )
    on(d(2021, 9, 3))
    cancel_request(session, clerk, request_id=r8, reason="Contractor withdrew after phase 1.")

    # Approved in two tranches (40% / 60%): the first is paid; the second waits for
    # the payee's use of the first to be accepted for 70%.
    on(d(2021, 9, 6))
    r9 = submit_request(
        session,
        clerk,
        policy,
        fund_id=fund.id,
        project_id=shelter.id,
        payee_id=bina.id,
        amount=usd("1000000.00"),
        purpose="Repair of 160 housing units, phase 2",
        tranches=[{"percent": "40"}, {"percent": "60"}],
    )
    session.flush()
    for day, member in ((13, m_eg), (14, m_un), (15, m_qa)):
        on(d(2021, 9, day))
        cast_vote(
            session,
            member,
            policy,
            request_id=r9.id,
            decision="approve",
            comment="Phase 2, in tranches.",
        )
    on(d(2021, 10, 4))
    disburse(
        session,
        treasurer,
        spending_request_id=r9.id,
        amount=usd("400000.00"),
        reference="PAY-2021-0004",
        paid_on=dt.date(2021, 10, 4),
    )
    on(d(2021, 11, 15))
    report_use(
        session,
        clerk,
        request_id=r9.id,
        seq=1,
        amount_used=usd("180000.00"),
        reference="UR-2021-0004-1",
        note="Invoices for 72 units.",
    )

    # A member's declared conflict of interest.
    on(d(2021, 11, 22))
    declare_conflict(
        session, m_qa, payee_id=clearing.id, reason="A relative sits on the company's board."
    )
