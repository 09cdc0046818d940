"""Projects: what the fund's money is for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.audit.services import record
from ledger.auth.models import Actor
from ledger.db import get_or_404
from ledger.errors import Conflict
from ledger.funding.models import Fund
from ledger.money import Money
from ledger.projects.models import Project


def create_project(
    session: Session,
    actor: Actor,
    *,
    fund_id: int,
    name: str,
    sector: str,
    location: str,
    budget: Money | None = None,
) -> Project:
    fund = get_or_404(session, Fund, fund_id)
    taken = select(Project.id).where(Project.fund_id == fund.id, Project.name == name)
    if session.scalar(taken) is not None:
        raise Conflict(f"Fund {fund.id} has a project named '{name}' already.")
    project = Project(
        fund_id=fund.id,
        name=name,
        sector=sector,
        location=location,
        budget_minor=budget.minor if budget is not None else None,
    )
    session.add(project)
    record(session, actor, "project.created", project)
    return project
