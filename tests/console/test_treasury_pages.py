"""The treasurer's pages (issue 24, item 4): approved requests with what remains
to pay, and a payment form that pays once when submitted twice (its key made with
the form); a refused payment shows why and is kept as a refusal."""

from __future__ import annotations

import re

from tests.console.test_committee_pages import AUDITOR, as_member
from tests.console.test_sign_in import csrf


def form_fields(page: bytes) -> dict[str, str]:
    key = re.search(rb'id="key" name="key" type="hidden" value="([^"]+)"', page)
    assert key, page[:800]
    return {"csrf_token": csrf(page), "key": key.group(1).decode()}


def test_the_treasurer_pays_once_though_the_form_is_sent_twice(runner, client):
    as_member(runner, client, "treasurer")
    listing = client.get("/console/payments").data.decode()
    assert "Repair of 400 damaged housing units, phase 1" in listing
    assert "1500000.00 USD" in listing  # request 1: 2,500,000 approved, 1,000,000 paid
    page = client.get("/console/requests/1/pay")
    fields = form_fields(page.data)
    body = {**fields, "amount": "250000.00", "reference": "PAY-2021-0501", "paid_on": ""}
    first = client.post("/console/requests/1/pay", data=body)
    again = client.post("/console/requests/1/pay", data=body)  # a double click
    assert first.status_code == again.status_code == 302
    told = client.get(again.location).data.decode()
    assert "was already made by this form" in told
    paid = client.get(
        "/api/v1/disbursements?spending_request_id=1&limit=50", headers=AUDITOR
    ).get_json()["items"]
    assert [p["reference"] for p in paid].count("PAY-2021-0501") == 1
    fresh = form_fields(client.get("/console/requests/1/pay").data)
    assert fresh["key"] != fields["key"]  # a new form, a new payment


def test_a_bad_amount_or_a_refused_payment_says_why(runner, client):
    as_member(runner, client, "treasurer")
    fields = form_fields(client.get("/console/requests/1/pay").data)
    bad = client.post(
        "/console/requests/1/pay",
        data={**fields, "amount": "12.345", "reference": "PAY-X-1", "paid_on": ""},
    )
    assert bad.status_code == 422 and b"decimal" in bad.data.lower()
    fields = form_fields(client.get("/console/requests/1/pay").data)
    too_much = client.post(
        "/console/requests/1/pay",
        data={**fields, "amount": "9000000.00", "reference": "PAY-X-2", "paid_on": ""},
    )
    assert too_much.status_code == 409 and b"left to pay" in too_much.data
    refusals = client.get("/api/v1/refusals", headers=AUDITOR).get_json()["items"]
    assert any(r["code"] == "exceeds_approval" for r in refusals)


def test_only_a_treasurer_pays(runner, client):
    as_member(runner, client, "member-un")
    assert client.get("/console/payments").status_code == 403
    assert client.get("/console/requests/1/pay").status_code == 403


def test_the_payments_show_what_tranches_let_pay_now(runner, client):
    as_member(runner, client, "treasurer")
    listing = client.get("/console/payments").data.decode()
    # Request 9: 1,000,000 in tranches of 40% and 60%; the first paid, the second locked.
    row = listing[listing.index("Repair of 160 housing units, phase 2") :]
    row = row[: row.index("</tr>")]
    assert "600000.00 USD" in row and '<td class="num">0.00 USD <span' in row
    assert "the next tranche is not released yet" in row
    first = listing[listing.index("Repair of 400 damaged housing units, phase 1") :]
    assert "all of it" in first[: first.index("</tr>")]  # no tranche locks request 1
