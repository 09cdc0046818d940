"""The treasurer's batches in the console (issue 24, item 4): every batch with its
progress; a batch's page with its held rows and why each is held; the treasurer
posts it through the function the API's POST /batches/{id}/post calls, a refusal
shown with its reason and kept; and the request a batch pays shows the batch."""

from __future__ import annotations

from typing import Any

import pytest

from tests.batches.world import csv_file, households, submit
from tests.console.test_sign_in import PASSWORD, csrf, invite, set_password, sign_in
from tests.screening.test_screening_flow import GAZA_SDN, ofac_zip, upload

SDN_FILES = ["sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"]


@pytest.fixture
def sdn(ledger) -> Any:  # type: ignore[no-untyped-def]
    """A funded fund and the real SDN records of tests/fixtures/ofac_gaza (ABU
    MARZOOK...), small enough to import in every test, and kept in the repository."""
    world = ledger.funded(received="1000000.00")
    imported = upload(ledger, "ofac-sdn", "sdn.zip", ofac_zip(GAZA_SDN, SDN_FILES))
    assert imported.status_code == 202, imported.get_data(as_text=True)
    return world


def signed_in(runner, client, name: str) -> None:  # type: ignore[no-untyped-def]
    set_password(client, invite(runner, name))
    assert sign_in(client, name, PASSWORD).status_code == 302


def batch_with_a_held_row(ledger, world) -> Any:  # type: ignore[no-untyped-def]
    """Five households and one listed name, whose row screening holds at intake."""
    world = {**world, "programme": ledger.payee("WFP cash-assistance programme, Gaza 2021")}
    lines = [*households(5), "Mousa ABU MARZOOK,455555555,,PS-WALLET-H,100.00,USD,QA-HELD-1"]
    return submit(ledger, world, csv_file(lines))


def test_the_treasurer_sees_a_batch_its_held_row_and_posts_it(ledger, sdn, runner, client):
    batch = batch_with_a_held_row(ledger, sdn)
    page_path = f"/console/batches/{batch['id']}"
    signed_in(runner, client, "treasurer")
    listing = client.get("/console/batches").data.decode()
    assert "Qatar cash grant, tranche 1" in listing and "500.00 USD" in listing
    page = client.get(page_path)
    text = page.data.decode()
    assert page.status_code == 200
    assert "6 rows: 0 paid, 1 held, 0 invalid, 5 waiting to be paid" in text
    assert "<bdi>Mousa ABU MARZOOK</bdi>" in text and "open review case" in text
    assert "QA-HELD-1" in text and "Post batch" in text

    # Not approved yet: refused with the service's reason, and the refusal kept.
    post = f"/console/batches/{batch['id']}/post"
    refused = client.post(post, data={"csrf_token": csrf(page.data), "paid_on": ""})
    assert refused.status_code == 409
    assert b"only an approved batch is posted" in refused.data
    assert any(r["code"] == "not_approved" for r in ledger.get("/refusals")["items"])

    # The request it pays shows the batch.
    request_page = client.get(f"/console/requests/{batch['spending_request_id']}").data.decode()
    assert "The batch this request pays" in request_page and page_path in request_page

    ledger.approve(batch["spending_request_id"])
    # The batch.post job runs as the request commits (JOBS_INLINE, tests/conftest.py).
    started = client.post(post, data={"csrf_token": csrf(page.data), "paid_on": ""})
    assert started.status_code == 302 and started.location.endswith(page_path)
    posted = client.get(page_path).data.decode()
    assert "is posting" in posted  # the message the treasurer is shown
    assert ": done, 1 attempts" in posted  # the batch.post job that paid it
    assert f"Batch {batch['id']}: posted" in posted
    assert "6 rows: 5 paid, 1 held, 0 invalid, 0 waiting to be paid" in posted
    assert "Post batch" not in posted
    assert ledger.get(f"/batches/{batch['id']}")["progress"]["paid_amount"] == "500.00"


def test_a_clerk_reads_batches_but_does_not_post(ledger, sdn, runner, client):
    batch = batch_with_a_held_row(ledger, sdn)
    signed_in(runner, client, "clerk")
    page = client.get(f"/console/batches/{batch['id']}")
    assert page.status_code == 200 and b"Post batch" not in page.data
    assert b"The open review cases, in groups" not in page.data  # compliance's page
    token = csrf(client.get("/console/").data)  # the page offers no form: a forged post
    forced = client.post(f"/console/batches/{batch['id']}/post", data={"csrf_token": token})
    assert forced.status_code == 403
    assert ledger.get(f"/batches/{batch['id']}")["status"] == "submitted"
    signed_in(runner, client, "compliance")  # who decides the cases is sent to them
    page = client.get(f"/console/batches/{batch['id']}")
    assert b'href="/console/review-cases"' in page.data and b"Post batch" not in page.data
