"""The notifications page: the signed-in user's choices as checkboxes (and their
address), their latest notifications, and their webhooks, the secret shown once;
each form calls what the API's /me routes call."""

from __future__ import annotations

import re

from tests.console.test_committee_pages import as_member
from tests.console.test_sign_in import csrf

SECRET = re.compile(r'<code class="secret" dir="ltr">([^<]+)</code>')


def test_a_member_chooses_what_they_are_told_and_adds_a_webhook(runner, client, app):
    as_member(runner, client, "member-un")
    page = client.get("/console/notifications")
    text = page.data.decode()
    assert page.status_code == 200
    assert 'value="vote.awaited:email" id="on-vote.awaited-email" aria-label' in text
    assert re.search(r'value="vote.awaited:email"[^>]*checked', text)  # the default
    assert not re.search(r'value="payment.refused:email"[^>]*checked', text)
    assert "You have no webhook." in text

    bad = client.post(
        "/console/notifications/preferences",
        data={"csrf_token": csrf(page.data), "email": "not an address"},
    )
    assert bad.status_code == 422 and "Nothing was changed" in bad.data.decode()

    saved = client.post(
        "/console/notifications/preferences",
        data={
            "csrf_token": csrf(page.data),
            "email": "un@fund.example",
            "on": ["vote.awaited:webhook", "request.decided:email"],
        },
    )
    assert saved.status_code == 302
    from ledger.auth.models import User
    from ledger.db import db
    from ledger.notifications.services import preferences_of

    with app.app_context():
        user_id = db.session.query(User.id).filter(User.name == "member-un").scalar()
        chosen = preferences_of(db.session, user_id)
    assert chosen["email"] == "un@fund.example"
    on = {(p["kind"], p["channel"]) for p in chosen["preferences"] if p["enabled"]}
    assert on == {("vote.awaited", "webhook"), ("request.decided", "email")}

    page = client.get("/console/notifications")
    assert 'value="un@fund.example"' in page.data.decode()
    refused = client.post(
        "/console/notifications/webhooks",
        data={"csrf_token": csrf(page.data), "url": "ftp://127.0.0.1/x"},
    )
    assert refused.status_code == 422 and "not added" in refused.data.decode()
    added = client.post(
        "/console/notifications/webhooks",
        data={"csrf_token": csrf(page.data), "url": "http://127.0.0.1:9/un-hooks"},
    )
    assert added.status_code == 200
    (secret,) = SECRET.findall(added.data.decode())
    assert secret.startswith("whsec_")
    again = client.get("/console/notifications").data.decode()
    assert "http://127.0.0.1:9/un-hooks" in again and secret not in again

    hook = re.search(r"/console/notifications/webhooks/(\d+)/disable", again)
    assert hook
    disabled = client.post(hook.group(0), data={"csrf_token": csrf(again.encode())})
    assert disabled.status_code == 302
    assert "Disable</button>" not in client.get("/console/notifications").data.decode()


def test_the_page_reads_in_arabic(runner, client):
    as_member(runner, client, "treasurer")
    client.get("/console/language/ar")
    text = client.get("/console/notifications").data.decode()
    assert "بماذا أُبلَّغ، وكيف" in text and "رُفض دفع" in text
