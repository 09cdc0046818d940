"""Projects: what the money is for."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.db import Base, BigId, MinorUnits, Timestamp, intpk, utcnow

if TYPE_CHECKING:
    from ledger.funding.models import Fund

SECTORS = (
    "housing",
    "water_sanitation",
    "health",
    "education",
    "energy",
    "roads",
    "rubble_removal",
    "livelihoods",
    "cash_assistance",
    "food_security",
    "protection",
    "coordination",
)


# What a person reads for each sector code (reports' PDF and XLSX, charts).
SECTOR_LABELS = {
    "housing": "Housing and shelter",
    "water_sanitation": "Water and sanitation",
    "health": "Health",
    "education": "Education",
    "energy": "Energy",
    "roads": "Roads",
    "rubble_removal": "Rubble removal",
    "livelihoods": "Livelihoods",
    "cash_assistance": "Cash assistance",
    "food_security": "Food security",
    "protection": "Protection",
    "coordination": "Coordination",
}


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[intpk]
    fund_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("funds.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    sector: Mapped[str] = mapped_column(sa.String(40))
    location: Mapped[str] = mapped_column(sa.String(100))
    # Ceiling in the fund's base currency, if any.
    budget_minor: Mapped[MinorUnits | None]
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)

    fund: Mapped[Fund] = relationship(lazy="joined")

    __table_args__ = (sa.UniqueConstraint("fund_id", "name"),)

    @property
    def base_currency(self) -> str:
        return self.fund.base_currency
