"""The IATI 2.03 activity export: one activity per project.

Per activity (project), the transactions are:

- 13 incoming pledge: pledges earmarked for exactly this project;
- 1 incoming funds: the contributions allocated to the project's commitments
  (the ``allocations`` table, net of releases), from the contributing donor;
- 2 outgoing commitment: each commitment journal entry of the project (a decrease
  or cancellation is a negative commitment), to the payee;
- 3 disbursement: each disbursement, to the payee.

Everything is read with set-based queries (one per transaction type for the whole
fund), then written with lxml. See docs/reports.md for the codes used.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.db import utcnow
from ledger.disbursements.models import Disbursement
from ledger.funding.models import Allocation, Contribution, Donor, Fund, Pledge
from ledger.journal import services as j
from ledger.journal.models import JournalLine
from ledger.payees.models import Payee
from ledger.projects.models import Project
from ledger.reports.registry import to_decimal

# OECD DAC 5-digit purpose codes (IATI Sector vocabulary 1) for our sectors.
DAC_SECTORS = {
    "housing": "16040",  # Low-cost housing
    "water_sanitation": "14030",  # Basic drinking water supply and basic sanitation
    "health": "12220",  # Basic health care
    "education": "11220",  # Primary education
    "energy": "23630",  # Electric power transmission and distribution
    "roads": "21020",  # Road transport
    "rubble_removal": "73010",  # Immediate post-emergency reconstruction and rehabilitation
    "livelihoods": "16020",  # Employment creation
    "cash_assistance": "72010",  # Material relief assistance and services
    "food_security": "72040",  # Emergency food assistance
    "protection": "72010",  # Material relief assistance and services
    "coordination": "72050",  # Relief co-ordination and support services
}
# IATI OrganisationType codes.
ORG_TYPES = {"government": "10", "multilateral": "40", "ngo": "21", "private": "70"}
PAYEE_ORG_TYPE = "70"  # private sector: contractors and suppliers
# IATI OrganisationRole: 1 funding, 2 accountable, 3 extending, 4 implementing.
FUNDING, ACCOUNTABLE, IMPLEMENTING = "1", "2", "4"


def reporting_org_ref(fund: Fund) -> str:
    """The fund's IATI organisation identifier (XI-IATI prefix: no registry agency)."""
    return f"XI-IATI-LEDGER-FUND-{fund.id}"


def iati_activities(
    session: Session, fund: Fund, as_of: dt.date | None = None, org_ref: str | None = None
) -> bytes:
    """The fund's projects as an IATI 2.03 ``iati-activities`` document (UTF-8 XML)."""
    org_ref = org_ref or reporting_org_ref(fund)
    now = utcnow().replace(microsecond=0).isoformat()
    root = etree.Element("iati-activities", {"version": "2.03", "generated-datetime": now})
    projects = list(
        session.scalars(select(Project).where(Project.fund_id == fund.id).order_by(Project.id))
    )
    pledges = _pledges(session, fund, as_of)
    incoming = _incoming(session, fund, as_of)
    commitments = _commitments(session, fund, as_of)
    disbursements = _disbursements(session, fund, as_of)
    for project in projects:
        activity = etree.SubElement(
            root,
            "iati-activity",
            {
                "last-updated-datetime": now,
                "default-currency": fund.base_currency,
                "humanitarian": "1",
                "{http://www.w3.org/XML/1998/namespace}lang": "en",
            },
        )
        _text(activity, "iati-identifier", f"{org_ref}-P{project.id}")
        _org(activity, "reporting-org", fund.name, ref=org_ref, type="40")
        _narrative(etree.SubElement(activity, "title"), project.name)
        _narrative(
            etree.SubElement(activity, "description", type="1"),
            f"{project.name}: {project.sector.replace('_', ' ')} in {project.location}, "
            f"financed by {fund.name}.",
        )
        _org(activity, "participating-org", fund.name, ref=org_ref, type="40", role=ACCOUNTABLE)
        funders = {(t["org"], t["org_ref"], t["org_type"]) for t in incoming.get(project.id, [])}
        funders |= {(t["org"], t["org_ref"], t["org_type"]) for t in pledges.get(project.id, [])}
        for name, ref, type_ in sorted(funders, key=lambda f: f[0]):
            _org(activity, "participating-org", name, ref=ref, type=type_, role=FUNDING)
        payees = {(t["org"], t["org_type"]) for t in commitments.get(project.id, [])}
        for name, type_ in sorted(payees):
            _org(activity, "participating-org", name, type=type_, role=IMPLEMENTING)
        etree.SubElement(activity, "activity-status", code="2")  # implementation
        etree.SubElement(
            activity,
            "activity-date",
            {"type": "2", "iso-date": project.created_at.date().isoformat()},
        )
        etree.SubElement(activity, "recipient-country", code="PS", percentage="100")
        location = etree.SubElement(activity, "location")
        _narrative(etree.SubElement(location, "name"), project.location)
        sector = etree.SubElement(
            activity, "sector", vocabulary="1", code=DAC_SECTORS.get(project.sector, "43010")
        )
        sector.set("percentage", "100")
        for code, transactions in (
            ("13", pledges),
            ("1", incoming),
            ("2", commitments),
            ("3", disbursements),
        ):
            for t in transactions.get(project.id, []):
                _transaction(activity, code, t)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _transaction(activity: Any, code: str, t: dict[str, Any]) -> None:
    element = etree.SubElement(activity, "transaction", ref=t["ref"])
    etree.SubElement(element, "transaction-type", code=code)
    etree.SubElement(element, "transaction-date", {"iso-date": t["date"].isoformat()})
    value = etree.SubElement(
        element, "value", {"currency": t["currency"], "value-date": t["date"].isoformat()}
    )
    value.text = format(to_decimal(t["minor"], t["currency"]), "f")
    _narrative(etree.SubElement(element, "description"), t["description"])
    tag = "provider-org" if code in ("1", "13") else "receiver-org"
    attrs = {"type": t["org_type"]} | ({"ref": t["org_ref"]} if t.get("org_ref") else {})
    _narrative(etree.SubElement(element, tag, attrs), t["org"])


def _text(parent: Any, tag: str, text: str) -> Any:
    element = etree.SubElement(parent, tag)
    element.text = text
    return element


def _narrative(parent: Any, text: str) -> None:
    _text(parent, "narrative", text)


def _org(parent: Any, tag: str, name: str, **attrs: str | None) -> None:
    element = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    _narrative(element, name)


def _donor(donor: Donor) -> dict[str, Any]:
    return {"org": donor.name, "org_ref": donor.iati_ref, "org_type": ORG_TYPES[donor.kind]}


def _payee(payee_id: int, name: str, kind: str) -> dict[str, Any]:
    # Individuals are not named in a public standard: only an anonymous label.
    name = name if kind == "organization" else f"Individual beneficiary {payee_id}"
    return {"org": name, "org_ref": None, "org_type": PAYEE_ORG_TYPE}


Grouped = dict[int, list[dict[str, Any]]]


def _pledges(session: Session, fund: Fund, as_of: dt.date | None) -> Grouped:
    stmt = (
        select(Pledge, Donor)
        .join(Donor, Donor.id == Pledge.donor_id)
        .where(Pledge.fund_id == fund.id, Pledge.earmark_project_id.is_not(None))
        .where(Pledge.status != "cancelled")
        .order_by(Pledge.pledged_on, Pledge.id)
    )
    if as_of is not None:
        stmt = stmt.where(Pledge.pledged_on <= as_of)
    found: Grouped = defaultdict(list)
    for pledge, donor in session.execute(stmt):
        assert pledge.earmark_project_id is not None
        found[pledge.earmark_project_id].append(
            {
                "ref": f"pledge-{pledge.id}",
                "date": pledge.pledged_on,
                "currency": pledge.currency,
                "minor": pledge.amount_minor,
                "description": f"Pledge {pledge.id} earmarked for this project",
            }
            | _donor(donor)
        )
    return found


def _incoming(session: Session, fund: Fund, as_of: dt.date | None) -> Grouped:
    from ledger.committee.models import SpendingRequest

    net = sa.func.sum(Allocation.base_amount_minor)
    stmt = (
        select(
            SpendingRequest.project_id,
            Contribution.id,
            Contribution.received_on,
            Donor.name,
            Donor.kind,
            Donor.iati_ref,
            net,
        )
        .join(Contribution, Contribution.id == Allocation.contribution_id)
        .join(Pledge, Pledge.id == Contribution.pledge_id)
        .join(Donor, Donor.id == Pledge.donor_id)
        .join(SpendingRequest, SpendingRequest.id == Allocation.spending_request_id)
        .where(Contribution.fund_id == fund.id)
        .group_by(
            SpendingRequest.project_id,
            Contribution.id,
            Contribution.received_on,
            Donor.name,
            Donor.kind,
            Donor.iati_ref,
        )
        .having(net != 0)
        .order_by(SpendingRequest.project_id, Contribution.received_on, Contribution.id)
    )
    if as_of is not None:
        stmt = stmt.where(Contribution.received_on <= as_of)
    found: Grouped = defaultdict(list)
    for project_id, contribution_id, received_on, name, kind, ref, minor in session.execute(stmt):
        found[project_id].append(
            {
                "ref": f"contribution-{contribution_id}-project-{project_id}",
                "date": received_on,
                "currency": fund.base_currency,
                "minor": int(minor),
                "description": f"Contribution {contribution_id} allocated to this project",
                "org": name,
                "org_ref": ref,
                "org_type": ORG_TYPES[kind],
            }
        )
    return found


def _commitments(session: Session, fund: Fund, as_of: dt.date | None) -> Grouped:
    line = JournalLine
    stmt = (
        select(
            line.project_id,
            line.entry_id,
            line.value_date,
            line.currency,
            sa.func.sum(line.amount_minor),
            line.spending_request_id,
            Payee.id,
            Payee.name,
            Payee.kind,
        )
        .join(Payee, Payee.id == line.payee_id)
        .where(
            line.fund_id == fund.id,
            line.account == j.COMMITMENTS,
            line.kind != "disbursement",
            line.project_id.is_not(None),
        )
        .group_by(
            line.project_id,
            line.entry_id,
            line.value_date,
            line.currency,
            line.spending_request_id,
            Payee.id,
            Payee.name,
            Payee.kind,
        )
        .order_by(line.project_id, line.value_date, line.entry_id)
    )
    if as_of is not None:
        stmt = stmt.where(line.value_date <= as_of)
    found: Grouped = defaultdict(list)
    for row in session.execute(stmt):
        project_id, entry_id, value_date, currency, minor, request_id, payee_id, name, kind = row
        assert project_id is not None  # filtered on
        found[project_id].append(
            {
                "ref": f"commitment-entry-{entry_id}",
                "date": value_date,
                "currency": currency,
                "minor": int(minor),
                "description": f"Commitment of spending request {request_id}",
            }
            | _payee(payee_id, name, kind)
        )
    return found


def _disbursements(session: Session, fund: Fund, as_of: dt.date | None) -> Grouped:
    from ledger.committee.models import SpendingRequest

    D = Disbursement
    stmt = (
        select(SpendingRequest.project_id, D, Payee)
        .join(SpendingRequest, SpendingRequest.id == D.spending_request_id)
        .join(Payee, Payee.id == D.payee_id)
        .where(D.fund_id == fund.id)
        .order_by(D.paid_on, D.id)
    )
    if as_of is not None:
        stmt = stmt.where(D.paid_on <= as_of)
    found: Grouped = defaultdict(list)
    for project_id, d, payee in session.execute(stmt):
        found[project_id].append(
            {
                "ref": f"disbursement-{d.id}",
                "date": d.paid_on,
                "currency": d.currency,
                "minor": d.amount_minor,
                "description": f"Payment {d.reference}",
            }
            | _payee(payee.id, payee.name, payee.kind)
        )
    return found
