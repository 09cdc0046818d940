"""Money paid out against an approved spending request."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ledger.db import Base, BigId, CurrencyCode, MinorUnits, Timestamp, intpk, utcnow
from ledger.money import Money

if TYPE_CHECKING:
    from ledger.funding.models import Fund


# A batch's chunks are paid under references of this form (batches.services.
# chunk_reference); a single payment may not take one (a reference pays once).
CHUNK_REFERENCE_PREFIX = "BATCH-"


class Disbursement(Base):
    __tablename__ = "disbursements"

    id: Mapped[intpk]
    spending_request_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("spending_requests.id"), index=True
    )
    fund_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("funds.id"), index=True)
    payee_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("payees.id"), index=True)
    amount_minor: Mapped[MinorUnits]
    currency: Mapped[CurrencyCode]
    fx_rate: Mapped[Decimal | None]
    base_amount_minor: Mapped[MinorUnits]
    reference: Mapped[str] = mapped_column(sa.String(100))
    paid_on: Mapped[dt.date]
    # The payee's screening state when the payment was let through (for the payee ledger).
    screening: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[Timestamp] = mapped_column(default=utcnow)
    # A payment returned by the bank: reversed by a new entry, marked here.
    reversed_at: Mapped[dt.datetime | None]
    reversal_reason: Mapped[str | None] = mapped_column(sa.String(2000))

    fund: Mapped[Fund] = relationship(lazy="joined")

    # A bank reference pays once in a fund (SPEC §3.11): checked by disburse(), and
    # held here against two payments racing with the same one.
    __table_args__ = (sa.UniqueConstraint("fund_id", "reference"),)

    @property
    def base_currency(self) -> str:
        return self.fund.base_currency

    @property
    def amount(self) -> Money:
        return Money(self.amount_minor, self.currency)
