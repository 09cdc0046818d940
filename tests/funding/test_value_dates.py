"""Every value date lies between a fixed lower bound and a horizon after today
(VALUE_DATE_EARLIEST, VALUE_DATE_HORIZON_DAYS): a payment dated 0001-01-01 or
9999-12-31 is refused, as is a pledge or a contribution, with nothing written."""

from __future__ import annotations

import datetime as dt

import pytest

FAR = ("0001-01-01", "1999-12-31", "9999-12-31")


@pytest.mark.parametrize("paid_on", FAR)
def test_a_payment_dated_outside_the_books_is_refused(ledger, paid_on):
    world = ledger.approved("100.00")
    refused = ledger.disburse(world["request"]["id"], "10.00", paid_on=paid_on, expect=422)
    assert refused["code"] == "validation_error"
    assert "outside the dates the books hold" in refused["errors"]["value_date"][0]
    position = ledger.position(world["fund"]["id"])
    assert position["base"]["disbursed"] == "0.00"


def test_pledges_and_contributions_are_held_to_the_same_dates(ledger):
    fund, donor = ledger.fund(), ledger.donor()
    late = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    body = {
        "fund_id": fund["id"],
        "donor_id": donor["id"],
        "amount": "100.00",
        "currency": "USD",
        "pledged_on": late,
    }
    assert ledger.call("POST", "/pledges", "clerk", body, expect=422)["errors"]["value_date"]
    pledge = ledger.pledge(fund["id"], donor["id"], "100.00")
    refused = ledger.contribute(pledge["id"], "50.00", received_on="0001-01-01", expect=422)
    assert refused["errors"]["value_date"]
    ledger.contribute(pledge["id"], "50.00", received_on="2021-06-15")  # inside: paid


def test_a_date_within_the_horizon_is_taken(ledger):
    world = ledger.approved("100.00")
    soon = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    ledger.disburse(world["request"]["id"], "10.00", paid_on=soon)


def test_closing_a_month_closes_every_date_before_it_too(ledger):
    """After closing May and June 2021, a pledge dated 2021-04-30 (April never
    closed on its own) is refused: a report as of 2021-06-30 cannot change."""
    world = ledger.funded()
    fund = world["fund"]["id"]
    for period in ("2021-05", "2021-06"):
        ledger.call(
            "POST",
            f"/funds/{fund}/periods",
            "treasurer",
            {"period": period, "reason": "reconciled"},
            expect=201,
        )
    before = ledger.position(fund, as_of="2021-06-30")
    refused = ledger.call(
        "POST",
        "/pledges",
        "clerk",
        {
            "fund_id": fund,
            "donor_id": world["donor"]["id"],
            "amount": "100.00",
            "currency": "USD",
            "pledged_on": "2021-04-30",
        },
        expect=409,
    )
    assert refused["code"] == "period_closed" and "2021-06" in refused["detail"]
    late = ledger.contribute(
        world["pledge"]["id"], "1.00", received_on="2021-05-10", over_contribution=True, expect=409
    )
    assert late["code"] == "period_closed"
    assert ledger.position(fund, as_of="2021-06-30") == before
