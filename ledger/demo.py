"""Demo data from the 2021 Gaza scenario, loaded by ``make run`` into an empty database.

The demo users' tokens are fixed, well-known values so that the README's examples
work as printed. They are for a local demo only: never load demo data into a
database that holds real money.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.auth.models import User
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


def load_demo(session: Session, policy: QuorumPolicy, if_empty: bool = True) -> bool:
    """Load the demo fund; with ``if_empty``, only into a database with no fund."""
    if if_empty and session.scalar(select(Fund.id).limit(1)) is not None:
        return False
    u: dict[str, User] = {}
    for name, roles, institution, chair in _USERS:
        u[name] = create_user(
            session, None, name=name, roles=roles, institution=institution, is_chair=chair
        )
        issue_token(session, u[name], token=DEMO_TOKENS[name][0])

    fund = create_fund(
        session, u["admin"], name="Gaza Reconstruction Fund 2021", base_currency="USD"
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

    p_egypt = create_pledge(
        session,
        clerk,
        fund_id=fund.id,
        donor_id=egypt.id,
        amount=usd("500000000.00"),
        pledged_on=dt.date(2021, 5, 18),
    )
    p_qatar = create_pledge(
        session,
        clerk,
        fund_id=fund.id,
        donor_id=qatar.id,
        amount=usd("500000000.00"),
        pledged_on=dt.date(2021, 5, 26),
    )
    p_eu = create_pledge(
        session,
        clerk,
        fund_id=fund.id,
        donor_id=eu.id,
        amount=Money.parse("50000000.00", "EUR"),
        fx_rate=Decimal("1.2150"),
        pledged_on=dt.date(2021, 6, 1),
    )
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
    record_contribution(
        session,
        treasurer,
        pledge_id=p_egypt.id,
        amount=usd("25000000.00"),
        received_on=dt.date(2021, 6, 15),
        reference="CBE-2021-0615-001",
    )
    record_contribution(
        session,
        treasurer,
        pledge_id=p_qatar.id,
        amount=usd("30000000.00"),
        received_on=dt.date(2021, 6, 20),
        reference="QNB-2021-0620-114",
    )
    record_contribution(
        session,
        treasurer,
        pledge_id=p_eu.id,
        amount=Money.parse("10000000.00", "EUR"),
        fx_rate=Decimal("1.2180"),
        received_on=dt.date(2021, 7, 1),
        reference="EC-TRF-2021-07-01",
    )
    record_contribution(
        session,
        treasurer,
        pledge_id=p_us.id,
        amount=usd("8000000.00"),
        received_on=dt.date(2021, 7, 15),
        reference="USAID-2021-WS-0007",
    )

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
    restrict_payee(
        session,
        u["compliance-1"],
        payee_id=flagged.id,
        reason="Director identified by the committee's vetting as a member of a "
        "designated group (case CV-2021-014).",
    )

    m_eg, m_un, m_eu, m_qa = (u["member-egypt"], u["member-un"], u["member-eu"], u["member-qatar"])

    def request(project_id: int, payee_id: int, amount: str, purpose: str, days: int = 30) -> int:
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
    r1 = request(shelter.id, bina.id, "2500000.00", "Repair of 400 damaged housing units, phase 1")
    for member in (m_eg, m_un, m_eu):
        cast_vote(
            session,
            member,
            policy,
            request_id=r1,
            decision="approve",
            comment="Costed, vetted, within the shelter plan.",
        )
    disburse(
        session,
        treasurer,
        spending_request_id=r1,
        amount=usd("1000000.00"),
        reference="PAY-2021-0001",
        paid_on=dt.date(2021, 8, 2),
    )

    # Approved (tier 1), earmarked US water money, fully paid.
    r2 = request(water.id, waterworks.id, "180000.00", "Pipes and pumps for Bani Suheila network")
    for member in (m_un, m_qa):
        cast_vote(
            session,
            member,
            policy,
            request_id=r2,
            decision="approve",
            comment="Urgent: network down since May.",
        )
    disburse(
        session,
        treasurer,
        spending_request_id=r2,
        amount=usd("180000.00"),
        reference="PAY-2021-0002",
        paid_on=dt.date(2021, 8, 9),
    )

    # Rejected by a veto.
    r3 = request(rubble.id, clearing.id, "900000.00", "Clearance of Beit Hanoun industrial zone")
    cast_vote(session, m_eu, policy, request_id=r3, decision="approve", comment="Needed.")
    cast_vote(
        session,
        m_un,
        policy,
        request_id=r3,
        decision="reject",
        comment="UXO survey missing: resubmit with UNMAS clearance.",
    )

    # Pending: one approval of the three needed.
    r4 = request(clinics.id, health.id, "750000.00", "Equipment for three primary clinics")
    cast_vote(session, m_qa, policy, request_id=r4, decision="approve", comment="Supported.")

    # Pending, not yet voted on.
    request(rubble.id, clearing.id, "120000.00", "Rubble crushing for road base, Jabalia")

    # Expired: never decided in time.
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
    expire_if_due(session, r6, None)

    # Withdrawn by its submitter before the committee decided.
    r7 = request(water.id, waterworks.id, "95000.00", "Duplicate of the Bani Suheila request")
    withdraw_request(session, clerk, request_id=r7, reason="Duplicate of request 2.")

    # Approved, partly paid, then cancelled: the unpaid rest goes back to the fund.
    r8 = request(rubble.id, clearing.id, "200000.00", "Rubble haulage, Beit Lahia")
    for member in (m_eu, m_qa):
        cast_vote(session, member, policy, request_id=r8, decision="approve", comment="Agreed.")
    disburse(
        session,
        treasurer,
        spending_request_id=r8,
        amount=usd("50000.00"),
        reference="PAY-2021-0003",
        paid_on=dt.date(2021, 9, 1),
    )
    cancel_request(session, clerk, request_id=r8, reason="Contractor withdrew after phase 1.")

    # Approved in two tranches (40% / 60%): the first is paid; the second waits for
    # the payee's use of the first to be accepted for 70%.
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
    for member in (m_eg, m_un, m_qa):
        cast_vote(
            session,
            member,
            policy,
            request_id=r9.id,
            decision="approve",
            comment="Phase 2, in tranches.",
        )
    disburse(
        session,
        treasurer,
        spending_request_id=r9.id,
        amount=usd("400000.00"),
        reference="PAY-2021-0004",
        paid_on=dt.date(2021, 10, 4),
    )
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
    declare_conflict(
        session, m_qa, payee_id=clearing.id, reason="A relative sits on the company's board."
    )
    return True
