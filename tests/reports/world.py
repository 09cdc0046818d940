"""A fund with several currencies, an earmark, two projects, payments and refusals."""

from __future__ import annotations

from typing import Any


def build_world(ledger: Any) -> dict[str, Any]:
    fund = ledger.fund()
    egypt = ledger.donor("Arab Republic of Egypt", "government", "EG")
    eu = ledger.donor("European Union", "multilateral", "BE")
    qatar = ledger.donor("State of Qatar", "government", "QA")
    housing = ledger.project(fund["id"])
    water = ledger.project(
        fund["id"], "Water network, Khan Younis", "water_sanitation", "Khan Younis"
    )
    usd = ledger.pledge(fund["id"], egypt["id"], "500000.00", pledged_on="2021-05-18")
    ledger.contribute(usd["id"], "300000.00", received_on="2021-06-15")
    eur = ledger.pledge(
        fund["id"], eu["id"], "200000.00", "EUR", pledged_on="2021-05-26", fx_rate="1.2150"
    )
    ledger.contribute(eur["id"], "100000.00", "EUR", received_on="2021-07-01", fx_rate="1.1933")
    earmarked = ledger.pledge(
        fund["id"],
        qatar["id"],
        "100000.00",
        pledged_on="2021-05-26",
        earmark={"project_id": housing["id"]},
    )
    ledger.contribute(earmarked["id"], "100000.00", received_on="2021-06-20")

    builder = ledger.payee("Al-Bina Contracting Company")
    works = ledger.payee("Khan Younis Water Works Est.")
    blocked = ledger.payee("Al-Nour Construction and Trading")
    restriction = ledger.call(
        "POST",
        f"/payees/{blocked['id']}/restrictions",
        "compliance",
        {"reason": "vetting hit"},
        expect=201,
    )
    refused = ledger.request(fund["id"], housing["id"], blocked["id"], "1000.00", expect=409)
    assert refused["code"] == "payee_restricted"
    ledger.call(
        "POST", f"/restrictions/{restriction['id']}/lift", "compliance2", {"reason": "cleared"}
    )

    # Told on its dates: each approval comes before the payments dated after it.
    ledger.on("2021-07-30")
    r1 = ledger.request(fund["id"], housing["id"], builder["id"], "150000.00")
    ledger.approve(r1["id"])
    ledger.on("2021-08-02")
    ledger.disburse(r1["id"], "50000.00", paid_on="2021-08-02")
    ledger.on("2021-08-16")
    r2 = ledger.request(fund["id"], water["id"], works["id"], "50000.00", "EUR", fx_rate="1.1900")
    ledger.approve(r2["id"])
    ledger.on("2021-09-10")
    ledger.disburse(r1["id"], "30000.00", paid_on="2021-09-10")
    ledger.disburse(r2["id"], "20000.00", "EUR", fx_rate="1.2000", paid_on="2021-08-20")
    ledger.now()
    return {
        "fund": fund,
        "housing": housing,
        "water": water,
        "blocked": blocked,
        "usd_pledge": usd,
    }
