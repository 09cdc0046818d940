"""What a request's payments have used of each contribution is kept as a running
total on its attribution rows (``used_after_minor``): every row, whether a payment
or a reversal wrote it, holds
the sum of the request's rows for that contribution up to and including itself."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ledger.funding.models import DisbursementAllocation
from tests.disbursements.world import pay_the_sequence, world


def test_each_attribution_row_carries_the_running_total(ledger, session: Session):
    fund = world(ledger, "R")
    request_id = fund["request"]["id"]
    pay_the_sequence(ledger, request_id)

    rows = session.scalars(
        sa.select(DisbursementAllocation)
        .where(DisbursementAllocation.spending_request_id == request_id)
        .order_by(DisbursementAllocation.id)
    ).all()
    running: dict[int, int] = defaultdict(int)
    for row in rows:
        running[row.contribution_id] += row.base_amount_minor
        assert row.used_after_minor == running[row.contribution_id], row.id
    # Spread over both contributions, a reversal among them, and all of it used.
    assert len(running) == 2
    assert any(row.base_amount_minor < 0 for row in rows)
    assert sorted(running.values()) == [40_000, 60_000]
