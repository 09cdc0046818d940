"""Pledges and contributions: money promised, money received, and their entries."""

import pytest

from tests.factories import ApiError


def test_pledge_posts_a_balanced_receivable(ledger):
    fund = ledger.fund()
    donor = ledger.donor()
    pledge = ledger.pledge(fund["id"], donor["id"], "500000000.00")
    assert pledge["amount"] == "500000000.00"
    assert pledge["outstanding"] == "500000000.00"
    entries = ledger.get(f"/journal/entries?source_type=pledge&source_id={pledge['id']}")["items"]
    assert len(entries) == 1
    lines = {line["account"]: line["amount"] for line in entries[0]["lines"]}
    assert lines == {
        "pledges_receivable": "500000000.00",
        "contributions_pledged": "-500000000.00",
    }


def test_contribution_clears_the_receivable_and_adds_cash(ledger):
    world = ledger.funded(received="250000.00", pledged="1000000.00")
    position = ledger.position(world["fund"]["id"])["base"]
    assert position["pledged"] == "1000000.00"
    assert position["received"] == "250000.00"
    assert position["outstanding_pledges"] == "750000.00"
    assert position["cash"] == "250000.00"
    assert position["available"] == "250000.00"
    pledge = ledger.get(f"/pledges/{world['pledge']['id']}")
    assert pledge["received"] == "250000.00"
    assert pledge["outstanding"] == "750000.00"


def test_contribution_beyond_outstanding_is_refused_unless_declared(ledger):
    fund = ledger.fund()
    pledge = ledger.pledge(fund["id"], ledger.donor()["id"], "100.00")
    ledger.contribute(pledge["id"], "60.00")
    refused = ledger.contribute(pledge["id"], "40.01", expect=409)
    assert refused["code"] == "exceeds_pledge"
    assert refused["outstanding"] == "40.00"
    accepted = ledger.contribute(pledge["id"], "50.00", over_contribution=True)
    assert accepted["over_contribution"] == "10.00"
    base = ledger.position(fund["id"])["base"]
    assert base["received"] == "110.00"
    assert base["outstanding_pledges"] == "0.00"
    assert ledger.trial_balance(fund["id"])["balanced"] is True


def test_contribution_in_another_currency_than_its_pledge_is_refused(ledger):
    fund = ledger.fund()
    pledge = ledger.pledge(fund["id"], ledger.donor()["id"], "100.00")
    refused = ledger.contribute(pledge["id"], "50.00", "EUR", fx_rate="1.1", expect=422)
    assert refused["code"] == "validation_error"
    assert "currency" in refused["errors"]


def test_foreign_currency_needs_a_rate_and_records_both_amounts(ledger):
    fund = ledger.fund()
    eu = ledger.donor("European Union", "multilateral", "BE")
    missing = ledger.call(
        "POST",
        "/pledges",
        "clerk",
        {
            "fund_id": fund["id"],
            "donor_id": eu["id"],
            "amount": "1000.00",
            "currency": "EUR",
            "pledged_on": "2021-06-01",
        },
        expect=422,
    )
    assert "fx_rate" in missing["errors"]
    pledge = ledger.pledge(fund["id"], eu["id"], "1000.00", "EUR", fx_rate="1.2150")
    assert pledge["base_amount"] == "1215.00"
    assert pledge["base_currency"] == "USD"
    contribution = ledger.contribute(pledge["id"], "400.00", "EUR", fx_rate="1.2180")
    assert contribution["amount"] == "400.00"
    assert contribution["currency"] == "EUR"
    assert contribution["base_amount"] == "487.20"


def test_rate_differences_go_to_a_named_account_and_no_cent_disappears(ledger):
    fund = ledger.fund()
    eu = ledger.donor("European Union", "multilateral", "BE")
    pledge = ledger.pledge(fund["id"], eu["id"], "1000.00", "EUR", fx_rate="1.2150")
    ledger.contribute(pledge["id"], "333.33", "EUR", fx_rate="1.2180")
    ledger.contribute(pledge["id"], "666.67", "EUR", fx_rate="1.1000")
    position = ledger.position(fund["id"])
    base = position["base"]
    # Receivable cleared exactly, at the pledge's rate, whatever the rates of receipt.
    assert base["outstanding_pledges"] == "0.00"
    # 333.33 * 1.2180 = 406.00 (406.0019); 666.67 * 1.1 = 733.34 (733.337)
    assert base["received"] == "1139.34"
    assert base["fx_differences"] == "-75.66"  # 1139.34 - 1215.00
    eur = next(row for row in position["by_currency"] if row["currency"] == "EUR")
    assert eur["received"] == "1000.00"
    assert eur["outstanding_pledges"] == "0.00"
    assert ledger.trial_balance(fund["id"])["balanced"] is True


def test_zero_decimal_currency_is_counted_in_whole_units(ledger):
    fund = ledger.fund("Yen fund", "JPY")
    donor = ledger.donor("Government of Japan", "government", "JP")
    pledge = ledger.pledge(fund["id"], donor["id"], "150000000", "JPY")
    assert pledge["amount"] == "150000000"
    refused = ledger.call(
        "POST",
        "/pledges",
        "clerk",
        {
            "fund_id": fund["id"],
            "donor_id": donor["id"],
            "amount": "1.5",
            "currency": "JPY",
            "pledged_on": "2021-06-01",
        },
        expect=422,
    )
    assert refused["errors"]["amount"] == ["JPY has 0 decimal places; '1.5' has more."]


def test_contribution_to_unknown_pledge_is_not_found(ledger):
    with pytest.raises(ApiError, match="404"):
        ledger.contribute(999, "1.00")
