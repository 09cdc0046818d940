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
    assert "outside the dates the books hold" in refused["errors"]["paid_on"][0]
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


# ---------------------------------------------------------------- the fund's opening date


def test_a_fund_opened_on_a_date_takes_no_entry_dated_before_it(ledger):
    fund = ledger.call(
        "POST",
        "/funds",
        "admin",
        {"name": "Opened fund", "base_currency": "USD", "opens_on": "2021-05-17"},
        expect=201,
    )
    assert fund["opens_on"] == "2021-05-17"
    donor = ledger.donor()
    body = {"fund_id": fund["id"], "donor_id": donor["id"], "amount": "100.00", "currency": "USD"}
    early = ledger.call(
        "POST", "/pledges", "clerk", body | {"pledged_on": "2021-05-16"}, expect=422
    )
    assert "before the fund opened (2021-05-17)" in early["errors"]["value_date"][0]
    pledge = ledger.pledge(fund["id"], donor["id"], "100.00", pledged_on="2021-05-17")
    refused = ledger.contribute(pledge["id"], "100.00", received_on="2021-05-01", expect=422)
    assert "before the fund opened" in refused["errors"]["value_date"][0]
    ledger.contribute(pledge["id"], "100.00", received_on="2021-06-15")
    assert ledger.position(fund["id"])["base"]["pledged"] == "100.00"


def test_a_fund_without_an_opening_date_keeps_the_fixed_lower_bound(ledger):
    fund = ledger.fund()
    assert fund["opens_on"] is None
    pledge = ledger.pledge(fund["id"], ledger.donor()["id"], "10.00", pledged_on="2000-01-01")
    assert pledge["pledged_on"] == "2000-01-01"


def test_an_opening_date_outside_the_books_is_refused(ledger):
    body = {"name": "Ancient fund", "base_currency": "USD", "opens_on": "1900-01-01"}
    refused = ledger.call("POST", "/funds", "admin", body, expect=422)
    assert refused["errors"]["opens_on"]
    assert ledger.get("/funds")["items"] == []


# ---------------------------------------------------------------- a payment after its approval


def test_a_payment_dated_before_its_approval_is_refused_with_nothing_written(ledger):
    """Approved on 2021-07-30: a payment dated 2021-07-29 would show, as of that
    date, money paid from a commitment that did not exist yet."""
    ledger.on("2021-07-30")
    world = ledger.approved("100.00")
    fund = world["fund"]["id"]
    refused = ledger.disburse(world["request"]["id"], "10.00", paid_on="2021-07-29", expect=422)
    assert refused["code"] == "dated_before_approval"
    assert refused["approved_on"] == "2021-07-30"
    assert refused["errors"]["paid_on"] == ["Before the approval (2021-07-30)."]
    assert ledger.position(fund)["base"]["disbursed"] == "0.00"
    ledger.disburse(world["request"]["id"], "10.00", paid_on="2021-07-30")
    july = ledger.position(fund, as_of="2021-07-31")["base"]
    assert (july["committed"], july["disbursed"], july["cash"]) == ("100.00", "10.00", "999990.00")


def test_a_batch_is_not_posted_on_a_date_before_its_approval(ledger):
    from tests.batches.world import csv_file, households, programme, submit

    ledger.on("2021-08-01")
    world = programme(ledger)
    batch = submit(ledger, world, csv_file(households(3)))
    ledger.approve(batch["spending_request_id"])
    early = {"paid_on": "2021-07-31"}
    refused = ledger.call("POST", f"/batches/{batch['id']}/post", "treasurer", early, expect=422)
    assert refused["code"] == "dated_before_approval"
    assert ledger.get(f"/batches/{batch['id']}")["status"] == "submitted"


# ---------------------------------------------------------------- free cash as of each date


def test_money_returned_before_it_arrived_is_refused(ledger):
    """A transfer received on 2021-07-01 and returned 'on 2021-06-20' would leave
    the fund with cash of -1,000.00 as of 2021-06-20: a reversal is dated on or
    after what it reverses."""
    fund = ledger.fund()
    pledge = ledger.pledge(fund["id"], ledger.donor()["id"], "1000.00")
    contribution = ledger.contribute(pledge["id"], "1000.00", received_on="2021-07-01")
    path = f"/contributions/{contribution['id']}/reverse"
    early = {"reason": "Returned at the donor's request", "value_date": "2021-06-20"}
    refused = ledger.call("POST", path, "treasurer", early, expect=422, key="return-early")
    assert "before 2021-07-01, the date of what it reverses" in refused["errors"]["value_date"][0]
    assert ledger.position(fund["id"], as_of="2021-06-30")["base"]["cash"] == "0.00"
    on_time = {"reason": "Returned at the donor's request", "value_date": "2021-07-02"}
    ledger.call("POST", path, "treasurer", on_time, expect=200, key="return-on-time")
    assert ledger.position(fund["id"])["base"]["cash"] == "0.00"
    assert ledger.position(fund["id"], as_of="2021-07-01")["base"]["cash"] == "1000.00"


def test_a_payment_returned_before_it_was_made_is_refused(ledger):
    ledger.on("2021-07-30")
    world = ledger.approved("100.00")
    paid = ledger.disburse(world["request"]["id"], "40.00", paid_on="2021-08-02")
    refused = ledger.call(
        "POST",
        f"/disbursements/{paid['id']}/reverse",
        "treasurer",
        {"reason": "Account closed", "value_date": "2021-08-01"},
        expect=422,
        key="return-before-payment",
    )
    assert refused["errors"]["value_date"]
    august = ledger.position(world["fund"]["id"], as_of="2021-08-01")["base"]
    assert august["disbursed"] == "0.00"


def test_a_commitment_is_not_backed_by_money_dated_after_it(ledger):
    """Money booked with a value date ten days ahead is not yet free today: the
    commitment it would back is refused, so no report as of today shows a
    commitment the fund's cash did not cover."""
    fund = ledger.fund()
    pledge = ledger.pledge(fund["id"], ledger.donor()["id"], "1000.00")
    soon = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    ledger.contribute(pledge["id"], "1000.00", received_on=soon)
    project, payee = ledger.project(fund["id"]), ledger.payee()
    request = ledger.request(fund["id"], project["id"], payee["id"], "500.00")
    ledger.vote(request["id"], "member-egypt")
    refused = ledger.vote(request["id"], "member-un", expect=409)
    assert refused["code"] == "insufficient_funds"
    assert "negative as of that date" in refused["detail"]
    today = ledger.position(fund["id"], as_of=dt.date.today().isoformat())["base"]
    assert (today["committed"], today["cash"]) == ("0.00", "0.00")
