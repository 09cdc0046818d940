"""A fund and an approved request that tests of payments share."""

from __future__ import annotations

from typing import Any


def world(ledger: Any, tag: str) -> dict[str, Any]:
    """A fund whose request of 1,000.00 is backed by two contributions (600 + 400),
    so that payments are attributed across both; approved on 2021-06-30, as the
    ledger's clock then reads (the payments that follow are dated in July 2021)."""
    fund = ledger.fund(f"Fund {tag}")
    donor = ledger.donor(f"Donor {tag}")
    contributions = []
    for amount in ("600.00", "400.00"):
        pledge = ledger.pledge(fund["id"], donor["id"], amount)
        contributions.append(ledger.contribute(pledge["id"], amount))
    project = ledger.project(fund["id"], f"Shelter repair {tag}")
    payee = ledger.payee(f"Al-Bina Contracting Company {tag}")
    ledger.on("2021-06-30")
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
