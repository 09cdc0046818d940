"""Invariants 1 and 9: the books balance, and a report counts only what is dated by as_of."""


def test_fund_position_as_of_counts_only_value_dates_on_or_before(ledger):
    fund = ledger.fund()
    egypt = ledger.donor("Arab Republic of Egypt", "government", "EG")
    qatar = ledger.donor()
    p1 = ledger.pledge(fund["id"], egypt["id"], "500.00", pledged_on="2021-05-18")
    p2 = ledger.pledge(fund["id"], qatar["id"], "300.00", pledged_on="2021-05-26")
    ledger.contribute(p1["id"], "200.00", received_on="2021-06-15")
    ledger.contribute(p2["id"], "300.00", received_on="2021-07-01")
    project = ledger.project(fund["id"])
    payee = ledger.payee()
    ledger.on("2021-07-30")  # the committee decides on 2021-07-30
    req = ledger.request(fund["id"], project["id"], payee["id"], "100.00")
    ledger.approve(req["id"])
    ledger.disburse(req["id"], "40.00", paid_on="2021-08-02")
    ledger.now()

    before_anything = ledger.position(fund["id"], "2021-05-17")["base"]
    assert set(before_anything.values()) == {"0.00"}
    may = ledger.position(fund["id"], "2021-05-31")["base"]
    assert may["pledged"] == "800.00"
    assert may["received"] == "0.00"
    june = ledger.position(fund["id"], "2021-06-30")["base"]
    assert june["received"] == "200.00"
    assert june["outstanding_pledges"] == "600.00"
    july = ledger.position(fund["id"], "2021-07-29")["base"]
    assert july["committed"] == "0.00"
    august = ledger.position(fund["id"], "2021-08-31")["base"]
    assert august["received"] == "500.00"
    assert august["disbursed"] == "40.00"
    # The commitment is dated the day it was decided, before the payment.
    assert august["committed"] == "100.00"
    assert august["committed_not_disbursed"] == "60.00"
    now = ledger.position(fund["id"])["base"]
    assert now["committed"] == "100.00"
    assert now["committed_not_disbursed"] == "60.00"
    assert now["available"] == "400.00"
    assert now["cash"] == "460.00"


def test_fund_position_is_the_same_before_and_after_later_activity(ledger):
    world = ledger.funded(received="1000.00")
    as_of = "2021-06-30"
    first = ledger.raw(
        "GET", f"/reports/fund-position?fund_id={world['fund']['id']}&as_of={as_of}", "auditor"
    ).get_data()
    ledger.contribute(world["pledge"]["id"], "0.00", expect=422)
    late = ledger.pledge(
        world["fund"]["id"], world["donor"]["id"], "50.00", pledged_on="2021-09-01"
    )
    ledger.contribute(late["id"], "50.00", received_on="2021-09-02")
    second = ledger.raw(
        "GET", f"/reports/fund-position?fund_id={world['fund']['id']}&as_of={as_of}", "auditor"
    ).get_data()
    assert first == second


def test_trial_balance_is_zero_per_currency_and_in_base(ledger):
    fund = ledger.fund()
    eu = ledger.donor("European Union", "multilateral", "BE")
    eur = ledger.pledge(fund["id"], eu["id"], "1000.00", "EUR", fx_rate="1.2150")
    ledger.contribute(eur["id"], "1000.00", "EUR", fx_rate="1.1933")
    project = ledger.project(fund["id"])
    payee = ledger.payee()
    req = ledger.request(fund["id"], project["id"], payee["id"], "500.00", "EUR", fx_rate="1.1933")
    ledger.approve(req["id"])
    ledger.disburse(req["id"], "200.00", "EUR", fx_rate="1.2001")
    ledger.disburse(req["id"], "300.00", "EUR", fx_rate="1.1877")
    tb = ledger.trial_balance(fund["id"])
    assert tb["balanced"] is True
    assert tb["totals"]["EUR"]["debit"] == tb["totals"]["EUR"]["credit"]
    assert tb["totals"]["base"]["debit"] == tb["totals"]["base"]["credit"]
    entries = ledger.get(f"/journal/entries?fund_id={fund['id']}&limit=500")["items"]
    for entry in entries:
        assert sum(int(line["base_amount"]) for line in entry["lines"]) == 0
    position = ledger.position(fund["id"])
    eur_row = next(r for r in position["by_currency"] if r["currency"] == "EUR")
    assert eur_row["disbursed"] == "500.00"
    assert eur_row["committed_not_disbursed"] == "0.00"


def test_reports_are_for_auditors_and_finance_staff(ledger):
    fund = ledger.fund()
    assert (
        ledger.call("GET", f"/reports/fund-position?fund_id={fund['id']}", "clerk", expect=403)[
            "code"
        ]
        == "forbidden"
    )
    assert ledger.call("GET", "/reports/fund-position", "auditor", expect=422)["errors"] == {
        "fund_id": ["Missing data for required field."]
    }
