"""Notifications: signed webhooks received by a real HTTP server, email by a real
SMTP server, each user's choices, retries with backoff, and who sees deliveries."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from flask import Flask

from ledger.db import clock_at, db
from ledger.notifications.services import deliver, retry_due
from ledger.notifications.signing import sign, verify_signature
from tests.factories import LedgerDriver
from tests.notifications.conftest import Mailbox, Receiver, free_port
from tests.security.authz_matrix import ROLES

NON_ADMINS = {
    "clerk": "clerk",
    "committee_member": "member-un",
    "treasurer": "treasurer",
    "compliance": "compliance",
    "auditor": "auditor",
}


def add_webhook(ledger: LedgerDriver, user: str, url: str) -> dict[str, Any]:
    made: dict[str, Any] = ledger.call("POST", "/me/webhooks", user, {"url": url}, expect=201)
    return made


def set_email(ledger: LedgerDriver, user: str, address: str | None) -> Any:
    return ledger.call("PUT", "/me/notification-preferences", user, {"email": address})


def submit(ledger: LedgerDriver, world: dict[str, Any], purpose: str = "Roof repairs") -> Any:
    return ledger.request(
        world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "100.00", purpose=purpose
    )


def refuse_a_payment(ledger: LedgerDriver) -> dict[str, Any]:
    world = ledger.approved("1000.00")
    ledger.call(
        "POST",
        f"/payees/{world['payee']['id']}/restrictions",
        "compliance",
        {"reason": "Listed by the committee's vetting"},
        expect=201,
    )
    refused = ledger.disburse(world["request"]["id"], "100.00", expect=409)
    assert refused["code"] == "payee_restricted"
    return world


# ---------------------------------------------------------------- webhooks


def test_a_refused_payment_is_posted_to_a_treasurers_webhook_signed(
    ledger: LedgerDriver, receiver: Receiver
) -> None:
    made = add_webhook(ledger, "treasurer", receiver.url)
    secret = made["secret"]
    assert secret.startswith("whsec_") and made["webhook"]["active"] is True
    world = refuse_a_payment(ledger)

    assert len(receiver.received) == 1
    hook = receiver.received[0]
    assert hook.path == "/hooks/ledger"
    assert hook.headers["Content-Type"] == "application/json"
    stamp, signature = hook.headers["X-Ledger-Timestamp"], hook.headers["X-Ledger-Signature"]
    assert signature.startswith("sha256=")
    assert verify_signature(secret, stamp, hook.body, signature, tolerance=300)

    body = json.loads(hook.body)
    assert set(body) == {"id", "kind", "time", "subject", "link"}
    assert body["kind"] == "payment.refused"
    assert body["subject"]["type"] == "refusals"
    assert body["subject"]["facts"]["code"] == "payee_restricted"
    assert body["subject"]["facts"]["payee_id"] == world["payee"]["id"]
    refusal_id = ledger.get("/refusals?code=payee_restricted")["items"][0]["id"]
    assert body["subject"]["id"] == refusal_id
    assert body["link"].endswith(f"/console/refusals/{refusal_id}")

    # What the receiver refuses: another secret, an altered body, a stale time.
    assert not verify_signature("whsec_other", stamp, hook.body, signature)
    assert not verify_signature(secret, stamp, hook.body + b" ", signature)
    assert not verify_signature(secret, stamp, hook.body, signature, now=int(stamp) + 301)
    old = str(int(time.time()) - 3600)
    assert not verify_signature(secret, old, hook.body, sign(secret, old, hook.body))
    assert not verify_signature(secret, "not-a-time", hook.body, signature)

    mine = ledger.get("/notifications", "treasurer")["items"]
    assert [(n["kind"], n["channel"], n["status"], n["attempts"]) for n in mine] == [
        ("payment.refused", "webhook", "delivered", 1)
    ]
    assert mine[0]["event_id"] == body["id"]
    # The compliance officers were told too, but have no webhook and no address.
    assert ledger.get("/notifications", "compliance")["items"] == []


def test_a_failed_delivery_is_logged_and_tried_again_later_then_delivered(
    ledger: LedgerDriver, receiver: Receiver, app: Flask
) -> None:
    add_webhook(ledger, "member-un", receiver.url)
    receiver.answers = [500]
    world = ledger.funded("1000.00")
    request = submit(ledger, world)

    attempts = ledger.get("/notifications/deliveries", "admin")["items"]
    assert [(a["attempt"], a["delivered"], a["status_code"]) for a in attempts] == [(1, False, 500)]
    assert attempts[0]["error"].startswith("HTTP 500") and attempts[0]["duration_ms"] >= 0
    assert attempts[0]["target"] == receiver.url
    (waiting,) = ledger.get("/notifications", "member-un")["items"]
    assert (waiting["status"], waiting["attempts"]) == ("pending", 1)
    assert waiting["subject_id"] == request["id"] and waiting["kind"] == "vote.awaited"
    due = dt.datetime.fromisoformat(waiting["next_attempt_at"])

    with app.app_context():
        # Not yet: the backoff is not over.
        with clock_at(due - dt.timedelta(seconds=1)), db.transaction() as session:
            assert retry_due(session) == []
        assert len(receiver.received) == 1
        # Its time come, the scheduler asks again, and the receiver answers 200.
        with clock_at(due), db.transaction() as session:
            assert retry_due(session) == [waiting["id"]]
        assert len(receiver.received) == 2
        # Asked again, or the same attempt run twice, nothing is sent again.
        with clock_at(due + dt.timedelta(days=1)), db.transaction() as session:
            assert retry_due(session) == []
        assert deliver(waiting["id"], 2) == {
            "notification_id": waiting["id"],
            "attempt": 2,
            "skipped": True,
        }
        assert deliver(waiting["id"], 3)["skipped"] is True
    assert len(receiver.received) == 2
    first, second = (json.loads(r.body) for r in receiver.received)
    assert first == second  # the same event, the same id: a receiver sees a repeat

    attempts = ledger.get("/notifications/deliveries", "admin")["items"]
    assert [(a["attempt"], a["delivered"], a["status_code"]) for a in attempts] == [
        (1, False, 500),
        (2, True, 200),
    ]
    (done,) = ledger.get("/notifications", "member-un")["items"]
    assert (done["status"], done["attempts"], done["next_attempt_at"]) == ("delivered", 2, None)
    events = ledger.get("/audit-events?action=notification.delivered")["items"]
    assert [(e["entity_type"], e["entity_id"]) for e in events] == [
        ("notifications", str(waiting["id"]))
    ]


def test_a_receiver_that_is_down_is_logged_with_the_error_and_given_up_at_last(
    ledger: LedgerDriver, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "NOTIFY_MAX_ATTEMPTS", 2)
    add_webhook(ledger, "member-un", f"http://127.0.0.1:{free_port()}/nobody-listens")
    submit(ledger, ledger.funded("1000.00"))
    (waiting,) = ledger.get("/notifications", "member-un")["items"]
    later = clock_at(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    with app.app_context(), later, db.transaction() as session:
        retry_due(session)
    attempts = ledger.get(f"/notifications/deliveries?notification_id={waiting['id']}", "admin")
    assert [(a["attempt"], a["delivered"], a["status_code"]) for a in attempts["items"]] == [
        (1, False, None),
        (2, False, None),
    ]
    assert all(a["error"].startswith("ConnectError") for a in attempts["items"])
    (given_up,) = ledger.get("/notifications", "member-un")["items"]
    assert (given_up["status"], given_up["next_attempt_at"]) == ("failed", None)


def test_a_disabled_webhook_gets_nothing_more(
    ledger: LedgerDriver, receiver: Receiver, app: Flask
) -> None:
    made = add_webhook(ledger, "member-un", receiver.url)
    receiver.answers = [503]
    world = ledger.funded("1000.00")
    submit(ledger, world)
    hook_id = made["webhook"]["id"]
    # Only its owner may disable it; for anyone else it does not exist.
    assert ledger.raw("POST", f"/me/webhooks/{hook_id}/disable", "member-eu").status_code == 404
    disabled = ledger.call("POST", f"/me/webhooks/{hook_id}/disable", "member-un")
    assert disabled["active"] is False and disabled["disabled_at"] is not None
    listed = ledger.get("/me/webhooks", "member-un")["items"]
    assert [w["id"] for w in listed] == [hook_id] and "secret" not in listed[0]
    later = clock_at(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    with app.app_context(), later, db.transaction() as session:
        retry_due(session)
    submit(ledger, world)
    assert len(receiver.received) == 1
    (cancelled,) = ledger.get("/notifications", "member-un")["items"]
    assert (cancelled["status"], cancelled["last_error"]) == (
        "cancelled",
        "the webhook was disabled",
    )


def test_a_webhook_url_must_be_http_or_https_to_an_allowed_host(ledger: LedgerDriver) -> None:
    for url in (
        "ftp://127.0.0.1/x",
        "not a url",
        "http://user:pw@127.0.0.1/x",
        "http://127.0.0.1:99999/x",
        "https://hooks.example.org/x",  # not in WEBHOOK_ALLOWED_HOSTS (tests/conftest.py)
    ):
        refused = ledger.raw("POST", "/me/webhooks", "clerk", {"url": url})
        assert refused.status_code == 422, url
        assert "url" in refused.get_json()["errors"]
    assert ledger.get("/me/webhooks", "clerk")["items"] == []


# ---------------------------------------------------------------- email


def test_a_member_is_emailed_that_a_vote_awaits_them_in_text_and_html(
    ledger: LedgerDriver, smtp: Mailbox
) -> None:
    set_email(ledger, "member-un", "un-member@fund.example")
    world = ledger.funded("1000.00")
    request = submit(ledger, world, purpose="Roofs <script>alert(1)</script> & walls")

    (mail,) = smtp.to("un-member@fund.example")
    assert mail["From"] == "ledger@fund.example"
    assert mail["Subject"] == f"[Ledger] Spending request {request['id']} awaits your vote"
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    plain, markup = text.get_content(), html.get_content()
    assert f"Spending request {request['id']} awaits your vote" in plain
    assert "Roofs <script>alert(1)</script> & walls" in plain
    assert f"/console/requests/{request['id']}" in plain
    assert "Roofs &lt;script&gt;alert(1)&lt;/script&gt; &amp; walls" in markup
    assert "<script>" not in markup
    assert f'href="http://127.0.0.1:5000/console/requests/{request["id"]}"' in markup

    attempts = ledger.get("/notifications/deliveries?delivered=true", "admin")["items"]
    assert [(a["channel"], a["target"], a["status_code"]) for a in attempts] == [
        ("email", "un-member@fund.example", 250)
    ]
    # Members without an address get no email; nothing else was told by email.
    assert len(smtp.messages) == 1


def test_a_decision_is_emailed_to_the_submitter_and_the_members_who_voted(
    ledger: LedgerDriver, smtp: Mailbox
) -> None:
    for user in ("clerk", "member-egypt", "member-un", "member-eu", "member-qatar"):
        set_email(ledger, user, f"{user}@fund.example")
    world = ledger.funded("1000.00")
    request = submit(ledger, world)
    smtp.messages.clear()
    decided = ledger.approve(request["id"])
    assert decided["status"] == "approved"
    votes = ledger.get(f"/spending-requests/{request['id']}/votes")["items"]
    voters = [v["member_id"] for v in votes]
    told = sorted(m["To"] for m in smtp.messages)
    names = {v: k for k, v in ledger.user_ids.items()}
    assert told == sorted([f"{names[v]}@fund.example" for v in voters] + ["clerk@fund.example"])
    assert {m["Subject"] for m in smtp.messages} == {
        f"[Ledger] Spending request {request['id']} was approved"
    }


# ---------------------------------------------------------------- choices


def test_preferences_turned_off_mean_nothing_is_sent(
    ledger: LedgerDriver, smtp: Mailbox, receiver: Receiver
) -> None:
    add_webhook(ledger, "member-un", receiver.url)
    chosen = ledger.call(
        "PUT",
        "/me/notification-preferences",
        "member-un",
        {
            "email": "un-member@fund.example",
            "preferences": [
                {"kind": "vote.awaited", "channel": "email", "enabled": False},
                {"kind": "vote.awaited", "channel": "webhook", "enabled": False},
            ],
        },
    )
    by = {(p["kind"], p["channel"]): p for p in chosen["preferences"]}
    assert by["vote.awaited", "email"] == {
        "kind": "vote.awaited",
        "channel": "email",
        "enabled": False,
        "default": False,
    }
    submit(ledger, ledger.funded("1000.00"))
    assert smtp.to("un-member@fund.example") == []
    assert receiver.received == []
    assert ledger.get("/notifications", "member-un")["items"] == []


def test_defaults_are_what_concerns_the_role_and_choices_are_checked(
    ledger: LedgerDriver,
) -> None:
    mine = ledger.get("/me/notification-preferences", "member-un")
    assert mine["email"] is None
    on = {(p["kind"], p["channel"]) for p in mine["preferences"] if p["enabled"]}
    assert on == {
        ("vote.awaited", "email"),
        ("vote.awaited", "webhook"),
        ("request.decided", "email"),
        ("request.decided", "webhook"),
    }
    assert all(p["default"] for p in mine["preferences"])

    for body, field in (
        ({"preferences": [{"kind": "party", "channel": "email", "enabled": True}]}, "kind"),
        ({"preferences": [{"kind": "vote.awaited", "channel": "sms", "enabled": True}]}, "channel"),
        ({"preferences": [{"kind": "vote.awaited", "channel": "email"}]}, "enabled"),
        ({"email": "not an address"}, "email"),
    ):
        refused = ledger.raw("PUT", "/me/notification-preferences", "member-un", body)
        assert refused.status_code == 422, body
        assert refused.content_type == "application/problem+json"
        assert any(field in name for name in refused.get_json()["errors"]), refused.get_json()
    assert ledger.get("/me/notification-preferences", "member-un") == mine

    set_email(ledger, "member-un", "un@fund.example")
    assert ledger.get("/me", "member-un")["email"] == "un@fund.example"
    # Left out, the address stays; null removes it.
    ledger.call("PUT", "/me/notification-preferences", "member-un", {"preferences": []})
    assert ledger.get("/me", "member-un")["email"] == "un@fund.example"
    assert set_email(ledger, "member-un", None)["email"] is None


def test_an_admin_gives_a_new_user_an_email_address(ledger: LedgerDriver) -> None:
    made = ledger.call(
        "POST",
        "/users",
        "admin",
        {"name": "New clerk", "roles": ["clerk"], "email": "new.clerk@fund.example"},
        expect=201,
    )
    assert made["user"]["email"] == "new.clerk@fund.example"
    refused = ledger.raw(
        "POST", "/users", "admin", {"name": "Other", "roles": ["clerk"], "email": "nope"}
    )
    assert refused.status_code == 422 and "email" in refused.get_json()["errors"]


# ---------------------------------------------------------------- who is told


def test_a_recused_member_is_not_told_a_vote_awaits_them(
    ledger: LedgerDriver, smtp: Mailbox
) -> None:
    world = ledger.funded("1000.00")
    for member in ("member-un", "member-eu"):
        set_email(ledger, member, f"{member}@fund.example")
    ledger.call(
        "POST",
        "/committee/conflicts",
        "member-eu",
        {"payee_id": world["payee"]["id"], "reason": "My brother directs this company."},
        expect=201,
    )
    request = submit(ledger, world)
    assert len(smtp.to("member-un@fund.example")) == 1
    assert smtp.to("member-eu@fund.example") == []
    assert ledger.get("/notifications", "member-eu")["items"] == []
    told = ledger.get("/notifications", "member-un")["items"]
    assert [(n["kind"], n["subject_id"]) for n in told] == [("vote.awaited", request["id"])]


def test_a_posted_batch_is_told_to_the_treasurers_and_its_clerk(
    ledger: LedgerDriver, receiver: Receiver
) -> None:
    from tests.batches.world import csv_file, households, programme
    from tests.batches.world import submit as submit_batch

    for user in ("clerk", "treasurer", "treasurer2", "auditor"):
        add_webhook(ledger, user, receiver.url + "/" + user)
    world = programme(ledger)
    batch = submit_batch(ledger, world, csv_file(households(3)))
    ledger.approve(batch["spending_request_id"])
    receiver.received.clear()
    posted = ledger.raw("POST", f"/batches/{batch['id']}/post", "treasurer", {})
    assert posted.status_code == 202
    told = sorted(r.path.rsplit("/", 1)[1] for r in receiver.received)
    assert told == ["clerk", "treasurer", "treasurer2"]
    body = json.loads(receiver.received[0].body)
    assert body["kind"] == "batch.posted" and body["subject"]["id"] == batch["id"]
    assert body["subject"]["facts"]["paid"] == 3


def test_a_signed_checkpoint_is_told_to_auditors_and_admins(
    ledger: LedgerDriver, receiver: Receiver, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    monkeypatch.setitem(app.config, "AUDIT_SIGNING_KEY", pem.decode())
    for user in ("auditor", "admin", "treasurer"):
        add_webhook(ledger, user, receiver.url + "/" + user)
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    told = sorted(r.path.rsplit("/", 1)[1] for r in receiver.received)
    assert told == ["admin", "auditor"]
    assert json.loads(receiver.received[0].body)["kind"] == "checkpoint.signed"


# ---------------------------------------------------------------- who sees deliveries


@pytest.mark.parametrize("role", ROLES)
def test_admins_see_deliveries_and_others_get_403(ledger: LedgerDriver, role: str) -> None:
    user = "admin" if role == "admin" else NON_ADMINS[role]
    answer = ledger.raw("GET", "/notifications/deliveries", user)
    if role == "admin":
        assert answer.status_code == 200
        assert answer.get_json() == {"items": [], "next_cursor": None}
    else:
        assert answer.status_code == 403
        assert answer.get_json()["code"] == "forbidden"
    assert ledger.raw("GET", "/notifications/deliveries", None).status_code == 401
