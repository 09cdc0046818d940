"""Corrections without rewriting, the donor trace and period close (issue 5)."""

import uuid

import pytest


def post(ledger, path, as_, body, expect=200, key=False):
    return ledger.call(
        "POST", path, as_, body, expect=expect, key=str(uuid.uuid4()) if key else None
    )


def test_amending_a_pledge_posts_the_difference_and_keeps_history(ledger):
    world = ledger.funded(received="400.00", pledged="1000.00")
    pledge_id, fund_id = world["pledge"]["id"], world["fund"]["id"]
    below = post(
        ledger,
        f"/pledges/{pledge_id}/amend",
        "clerk",
        {"amount": "399.99", "currency": "USD", "reason": "x"},
        expect=422,
    )
    assert "amount" in below["errors"]
    amended = post(
        ledger,
        f"/pledges/{pledge_id}/amend",
        "clerk",
        {"amount": "800.00", "currency": "USD", "reason": "Donor revised its pledge."},
    )
    assert amended["amount"] == "800.00"
    assert ledger.position(fund_id)["base"]["pledged"] == "800.00"
    assert ledger.position(fund_id)["base"]["outstanding_pledges"] == "400.00"
    cancelled = post(
        ledger,
        f"/pledges/{pledge_id}/cancel",
        "clerk",
        {"reason": "Budget cut by the donor's parliament."},
    )
    assert cancelled["status"] == "cancelled"
    assert cancelled["amount"] == "400.00"
    assert ledger.position(fund_id)["base"]["outstanding_pledges"] == "0.00"
    history = ledger.get(f"/pledges/{pledge_id}/amendments")["items"]
    assert [(h["kind"], h["old_amount"], h["new_amount"]) for h in history] == [
        ("amend", "1000.00", "800.00"),
        ("cancel", "800.00", "400.00"),
    ]
    assert ledger.trial_balance(fund_id)["balanced"] is True


def test_a_returned_transfer_is_reversed_by_a_new_entry(ledger):
    world = ledger.funded(received="500.00", pledged="1000.00")
    fund_id = world["fund"]["id"]
    contribution = ledger.get(f"/pledges/{world['pledge']['id']}/contributions")["items"][0]
    reversed_ = post(
        ledger,
        f"/contributions/{contribution['id']}/reverse",
        "treasurer",
        {"reason": "Returned by the correspondent bank: wrong IBAN."},
        key=True,
    )
    assert reversed_["id"] == contribution["id"]
    base = ledger.position(fund_id)["base"]
    assert base["received"] == "0.00"
    assert base["cash"] == "0.00"
    assert base["outstanding_pledges"] == "1000.00"
    assert ledger.get(f"/pledges/{world['pledge']['id']}")["received"] == "0.00"
    entries = ledger.get(f"/journal/entries?kind=contribution_reversal&fund_id={fund_id}")["items"]
    original = ledger.get(f"/journal/entries?kind=contribution&fund_id={fund_id}")["items"][0]
    assert entries[0]["reverses_id"] == original["id"]
    again = post(
        ledger,
        f"/contributions/{contribution['id']}/reverse",
        "treasurer",
        {"reason": "again"},
        expect=409,
        key=True,
    )
    assert again["code"] == "already_reversed"
    assert ledger.trial_balance(fund_id)["balanced"] is True


def test_committed_money_cannot_be_returned(ledger):
    world = ledger.approved("100.00", received="1000.00")
    contribution = ledger.get(f"/pledges/{world['pledge']['id']}/contributions")["items"][0]
    refused = post(
        ledger,
        f"/contributions/{contribution['id']}/reverse",
        "treasurer",
        {"reason": "x"},
        expect=409,
        key=True,
    )
    assert refused["code"] == "contribution_committed"
    assert refused["committed"] == "100.00"


def test_a_returned_payment_restores_the_commitment(ledger):
    world = ledger.approved("1000.00")
    fund_id, request_id = world["fund"]["id"], world["request"]["id"]
    paid = ledger.disburse(request_id, "400.00")
    post(
        ledger,
        f"/disbursements/{paid['id']}/reverse",
        "treasurer",
        {"reason": "Beneficiary account closed."},
        key=True,
    )
    state = ledger.get(f"/spending-requests/{request_id}")
    assert state["disbursed"] == "0.00"
    assert state["remaining"] == "1000.00"
    base = ledger.position(fund_id)["base"]
    assert base["disbursed"] == "0.00"
    assert base["committed_not_disbursed"] == "1000.00"
    assert base["cash"] == "1000000.00"
    trace = ledger.get(f"/reports/donor-trace?donor_id={world['donor']['id']}")
    assert trace["totals"][0]["disbursed"] == "0.00"
    assert trace["totals"][0]["committed"] == "1000.00"
    again = post(
        ledger,
        f"/disbursements/{paid['id']}/reverse",
        "treasurer",
        {"reason": "x"},
        expect=409,
        key=True,
    )
    assert again["code"] == "already_reversed"
    ledger.disburse(request_id, "1000.00")
    assert ledger.trial_balance(fund_id)["balanced"] is True


def test_donor_trace_follows_each_contribution_to_the_payee(ledger):
    fund = ledger.fund()
    egypt = ledger.donor("Arab Republic of Egypt", "government", "EG")
    us = ledger.donor("United States of America", "government", "US")
    water_pledge = ledger.pledge(
        fund["id"], us["id"], "300.00", earmark={"sector": "water_sanitation"}
    )
    ledger.contribute(water_pledge["id"], "300.00", received_on="2021-06-01")
    open_pledge = ledger.pledge(fund["id"], egypt["id"], "1000.00")
    ledger.contribute(open_pledge["id"], "1000.00", received_on="2021-05-20")
    water = ledger.project(
        fund["id"], "Water network, Khan Younis", "water_sanitation", "Khan Younis"
    )
    payee = ledger.payee("Khan Younis Water Works Est.")
    ledger.on("2021-07-30")  # approved before the payment dated after it
    request = ledger.request(fund["id"], water["id"], payee["id"], "500.00")
    ledger.approve(request["id"])
    ledger.disburse(request["id"], "350.00", paid_on="2021-08-01")

    # Earmarked money first (the US's 300.00), then unearmarked (Egypt's 200.00).
    us_trace = ledger.get(f"/reports/donor-trace?donor_id={us['id']}")
    assert us_trace["totals"] == [
        {
            "base_currency": "USD",
            "contributed": "300.00",
            "disbursed": "300.00",
            "committed": "0.00",
            "free": "0.00",
        }
    ]
    use = us_trace["contributions"][0]["uses"][0]
    assert (use["kind"], use["payee"], use["project"], use["amount"], use["date"]) == (
        "disbursed",
        "Khan Younis Water Works Est.",
        "Water network, Khan Younis",
        "300.00",
        "2021-08-01",
    )
    eg_trace = ledger.get(f"/reports/donor-trace?donor_id={egypt['id']}")
    totals = eg_trace["totals"][0]
    assert (totals["contributed"], totals["disbursed"], totals["committed"], totals["free"]) == (
        "1000.00",
        "50.00",
        "150.00",
        "800.00",
    )
    before_payment = ledger.get(f"/reports/donor-trace?donor_id={us['id']}&as_of=2021-07-31")
    assert before_payment["totals"][0]["disbursed"] == "0.00"
    available = ledger.get(f"/reports/available?fund_id={fund['id']}")
    assert {str(a["earmark"]): a["available"] for a in available} == {
        "None": "800.00",
        str({"sector": "water_sanitation", "location": None, "project_id": None}): "0.00",
    }


def test_a_closed_period_takes_no_entries_and_its_reports_never_change(ledger):
    world = ledger.funded(received="1000.00")
    fund_id = world["fund"]["id"]
    url = f"/reports/fund-position?fund_id={fund_id}&as_of=2021-06-30"
    before = ledger.raw("GET", url, "auditor").get_data()
    closed = post(
        ledger,
        f"/funds/{fund_id}/periods",
        "treasurer",
        {"period": "2021-06", "reason": "June 2021 books signed by the auditors."},
        expect=201,
    )
    assert (closed["starts_on"], closed["ends_on"]) == ("2021-06-01", "2021-06-30")
    refused = ledger.contribute(
        world["pledge"]["id"], "1.00", received_on="2021-06-30", expect=409, over_contribution=True
    )
    assert refused["code"] == "period_closed"
    assert "value_date" in refused["errors"]
    # Later activity, and a correction of June posted in the open period.
    ledger.contribute(
        world["pledge"]["id"], "5.00", received_on="2021-07-01", over_contribution=True
    )
    june = ledger.get(f"/pledges/{world['pledge']['id']}/contributions")["items"][0]
    post(
        ledger,
        f"/contributions/{june['id']}/reverse",
        "treasurer",
        {"reason": "Returned in July.", "value_date": "2021-07-02"},
        key=True,
    )
    in_june = post(
        ledger,
        f"/contributions/{june['id']}/reverse",
        "treasurer",
        {"reason": "x", "value_date": "2021-06-30"},
        expect=409,
        key=True,
    )
    assert in_june["code"] in ("period_closed", "already_reversed")
    assert ledger.raw("GET", url, "auditor").get_data() == before
    assert ledger.trial_balance(fund_id)["balanced"] is True


@pytest.mark.parametrize("period", ["2021-13", "June", "2999-01"])
def test_only_an_ended_month_closes(ledger, period):
    fund = ledger.fund()
    refused = post(
        ledger,
        f"/funds/{fund['id']}/periods",
        "treasurer",
        {"period": period, "reason": "x"},
        expect=422,
    )
    assert "period" in refused["errors"]


def test_a_month_closes_once(ledger):
    fund = ledger.fund()
    post(
        ledger,
        f"/funds/{fund['id']}/periods",
        "treasurer",
        {"period": "2021-06", "reason": "Signed."},
        expect=201,
    )
    again = post(
        ledger,
        f"/funds/{fund['id']}/periods",
        "treasurer",
        {"period": "2021-06", "reason": "Signed."},
        expect=409,
    )
    assert again["code"] == "conflict"


def test_the_donor_trace_report_adds_up_to_the_contributions(ledger):
    world = ledger.approved("1000.00", received="5000.00")
    ledger.disburse(world["request"]["id"], "400.00")
    report = ledger.get(f"/reports/donor-trace?fund_id={world['fund']['id']}")
    rows = report["rows"]
    assert [(r["use"], r["base_amount"]) for r in rows] == [
        ("disbursed", "400.00"),
        ("committed", "600.00"),
        ("free", "4000.00"),
    ]
    csv_text = ledger.raw(
        "GET", f"/reports/donor-trace?fund_id={world['fund']['id']}&format=csv", "auditor"
    ).get_data(as_text=True)
    assert "4000.00" in csv_text


def test_the_payee_ledger_shows_a_returned_payment_and_nets_to_disbursed(ledger):
    ledger.on("2021-07-30")
    world = ledger.approved("1000.00")
    fund_id = world["fund"]["id"]
    paid = ledger.disburse(world["request"]["id"], "400.00", paid_on="2021-08-02")
    ledger.disburse(world["request"]["id"], "100.00", paid_on="2021-08-03")
    post(
        ledger,
        f"/disbursements/{paid['id']}/reverse",
        "treasurer",
        {"reason": "Account closed.", "value_date": "2021-08-10"},
        key=True,
    )
    report = ledger.get(f"/reports/payee-ledger?fund_id={fund_id}")
    assert [(r["reference"].startswith("returned"), r["amount"]) for r in report["rows"]] == [
        (False, "400.00"),
        (False, "100.00"),
        (True, "-400.00"),
    ]
    assert report["rows"][-1]["payee_running_base"] == "100.00"
    assert ledger.position(fund_id)["base"]["disbursed"] == "100.00"
    before_return = ledger.get(f"/reports/payee-ledger?fund_id={fund_id}&as_of=2021-08-05")
    assert [r["amount"] for r in before_return["rows"]] == ["400.00", "100.00"]
