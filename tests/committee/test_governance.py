"""Committee governance (SPEC §4): tiers to the cent, chair, institutions, recusal,
expiry, withdrawal, decreases, cancellations, increases and tranches."""

import datetime as dt

import pytest
import sqlalchemy as sa

from ledger.committee.policy import parse_policy


@pytest.fixture
def rich(ledger):
    """A fund with 20,000,000.00 received, a project and a payee."""
    return ledger.funded(received="20000000.00")


def submit(ledger, world, amount, **extra):
    return ledger.request(
        world["fund"]["id"], world["project"]["id"], world["payee"]["id"], amount, **extra
    )


@pytest.mark.parametrize(
    ("amount", "tier", "approvals", "institutions", "chair"),
    [
        ("250000.00", "up to 250,000", 2, 1, False),
        ("250000.01", "up to 5,000,000", 3, 2, False),
        ("5000000.00", "up to 5,000,000", 3, 2, False),
        ("5000000.01", "above 5,000,000", 4, 3, True),
    ],
)
def test_each_tier_boundary_to_the_cent(ledger, rich, amount, tier, approvals, institutions, chair):
    request = submit(ledger, rich, amount)
    assert request["tier"] == tier
    assert request["quorum"]["required"] == {
        "approvals": approvals,
        "institutions": institutions,
        "chair": chair,
    }


def test_small_request_is_decided_by_the_second_approval(ledger, rich):
    request = submit(ledger, rich, "250000.00")
    assert ledger.vote(request["id"], "member-un")["spending_request"]["status"] == "pending"
    decided = ledger.vote(request["id"], "member-eu")["spending_request"]
    assert decided["status"] == "approved"
    assert decided["quorum"]["approvals"] == 2


def test_institution_rule_needs_two_institutions_in_the_middle_tier(ledger, rich):
    request = submit(ledger, rich, "250000.01")
    ledger.vote(request["id"], "member-egypt")
    ledger.vote(request["id"], "member-egypt2")
    state = ledger.get(f"/spending-requests/{request['id']}")
    assert state["status"] == "pending"
    assert state["quorum"]["missing"] == [
        "1 more approval(s)",
        "approvals from 1 more institution(s)",
    ]
    assert ledger.vote(request["id"], "member-un")["spending_request"]["status"] == "approved"


def test_top_tier_waits_for_the_chair(ledger, rich):
    request = submit(ledger, rich, "5000000.01")
    for member in ("member-un", "member-eu", "member-qatar", "member-egypt2"):
        state = ledger.vote(request["id"], member)["spending_request"]
    assert state["status"] == "pending"
    assert state["quorum"]["missing"] == ["the chair's approval"]
    decided = ledger.vote(request["id"], "member-egypt")["spending_request"]
    assert decided["status"] == "approved"
    assert decided["quorum"]["chair_approved"] is True
    assert ledger.position(rich["fund"]["id"])["base"]["committed"] == "5000000.01"


def test_a_recused_member_cannot_vote(ledger, rich):
    declared = ledger.call(
        "POST",
        "/committee/conflicts",
        "member-un",
        {"payee_id": rich["payee"]["id"], "reason": "My brother directs this company."},
        expect=201,
    )
    assert declared["active"] is True
    request = submit(ledger, rich, "1000.00")
    refused = ledger.vote(request["id"], "member-un", expect=403)
    assert refused["code"] == "conflict_of_interest"
    assert (
        ledger.get("/refusals?code=conflict_of_interest")["items"][0]["spending_request_id"]
        == (request["id"])
    )
    assert request["id"] not in [r["id"] for r in ledger.get("/committee/queue", "member-un")]
    assert request["id"] in [r["id"] for r in ledger.get("/committee/queue", "member-eu")]


def test_the_quorum_is_computed_without_recused_members(ledger, rich):
    for member in ("member-egypt", "member-un"):
        ledger.call(
            "POST",
            "/committee/conflicts",
            member,
            {"payee_id": rich["payee"]["id"], "reason": "Shareholder."},
            expect=201,
        )
    request = submit(ledger, rich, "6000000.00")
    quorum = request["quorum"]
    # Eligible: EU, Qatar and the second Egypt member; the chair is recused.
    assert quorum["required"] == {"approvals": 3, "institutions": 3, "chair": False}
    assert sorted(quorum["recused_member_ids"]) == sorted(
        [ledger.user_ids["member-egypt"], ledger.user_ids["member-un"]]
    )
    for member in ("member-eu", "member-qatar"):
        ledger.vote(request["id"], member)
    decided = ledger.vote(request["id"], "member-egypt2")["spending_request"]
    assert decided["status"] == "approved"
    assert decided["quorum"]["required"]["chair"] is False


def test_a_conflict_with_an_owner_covers_the_payees_it_stands_behind(ledger, rich):
    owner = ledger.payee("Abu Khalil Holdings")
    owned = ledger.payee(
        "Gaza Shelter Repair Cooperative",
        related_parties=[
            {
                "name": "Abu Khalil Holdings",
                "kind": "organization",
                "role": "owner",
                "linked_payee_id": owner["id"],
            }
        ],
    )
    ledger.call(
        "POST",
        "/committee/conflicts",
        "member-qatar",
        {"payee_id": owner["id"], "reason": "Former partner."},
        expect=201,
    )
    request = ledger.request(rich["fund"]["id"], rich["project"]["id"], owned["id"], "100.00")
    assert ledger.vote(request["id"], "member-qatar", expect=403)["code"] == "conflict_of_interest"


def test_a_withdrawn_declaration_no_longer_recuses(ledger, rich):
    declared = ledger.call(
        "POST",
        "/committee/conflicts",
        "member-un",
        {"payee_id": rich["payee"]["id"], "reason": "Cousin."},
        expect=201,
    )
    refused = ledger.call(
        "POST",
        f"/committee/conflicts/{declared['id']}/withdraw",
        "member-eu",
        {"reason": "not mine"},
        expect=403,
    )
    assert refused["code"] == "forbidden"
    ledger.call(
        "POST",
        f"/committee/conflicts/{declared['id']}/withdraw",
        "member-un",
        {"reason": "The cousin left the company in 2020."},
    )
    request = submit(ledger, rich, "100.00")
    ledger.vote(request["id"], "member-un")


def expire_now(session, request_id):
    session.execute(
        sa.text("UPDATE spending_requests SET expires_at = :t WHERE id = :id"),
        {"t": dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1), "id": request_id},
    )
    session.commit()


def test_an_undecided_request_expires_and_commits_nothing(ledger, rich, session, runner):
    request = submit(ledger, rich, "1000.00")
    ledger.vote(request["id"], "member-un")
    expire_now(session, request["id"])
    assert ledger.get(f"/spending-requests/{request['id']}")["status"] == "expired"
    expired = ledger.get("/spending-requests?status=expired")["items"]
    assert [r["id"] for r in expired] == [request["id"]]
    assert ledger.get("/spending-requests?status=pending")["items"] == []
    late = ledger.vote(request["id"], "member-eu", expect=409)
    assert late["code"] == "not_pending"
    assert ledger.position(rich["fund"]["id"])["base"]["committed"] == "0.00"
    assert request["id"] not in [r["id"] for r in ledger.get("/committee/queue", "member-eu")]


def test_the_expiry_sweep_records_expired_requests(ledger, rich, session, runner):
    first = submit(ledger, rich, "1000.00")
    second = submit(ledger, rich, "2000.00")
    expire_now(session, first["id"])
    result = runner.invoke(args=["requests", "expire"])
    assert result.exit_code == 0, result.output
    assert f"expired 1 request(s): [{first['id']}]" in result.output
    events = ledger.get("/audit-events?action=spending_request.expired")["items"]
    assert [e["entity_id"] for e in events] == [str(first["id"])]
    assert ledger.get(f"/spending-requests/{second['id']}")["status"] == "pending"


def test_the_submitter_withdraws_an_undecided_request(ledger, rich):
    request = submit(ledger, rich, "1000.00")
    other = ledger.call(
        "POST",
        f"/spending-requests/{request['id']}/withdraw",
        "clerk2",
        {"reason": "mine now"},
        expect=403,
    )
    assert other["code"] == "forbidden"
    withdrawn = ledger.call(
        "POST",
        f"/spending-requests/{request['id']}/withdraw",
        "clerk",
        {"reason": "Duplicate of an earlier request."},
    )
    assert withdrawn["status"] == "withdrawn"
    assert withdrawn["closed_reason"] == "Duplicate of an earlier request."
    assert ledger.vote(request["id"], "member-un", expect=409)["code"] == "not_pending"


def test_a_decided_request_cannot_be_withdrawn(ledger, rich):
    request = submit(ledger, rich, "1000.00")
    ledger.approve(request["id"])
    refused = ledger.call(
        "POST",
        f"/spending-requests/{request['id']}/withdraw",
        "clerk",
        {"reason": "too late"},
        expect=409,
    )
    assert refused["code"] == "not_pending"


def test_decreasing_an_approval_releases_the_rest_of_the_commitment(ledger, rich):
    fund_id = rich["fund"]["id"]
    request = submit(ledger, rich, "1000.00")
    ledger.approve(request["id"])
    ledger.disburse(request["id"], "300.00")
    below = ledger.call(
        "POST",
        f"/spending-requests/{request['id']}/decrease",
        "treasurer",
        {"amount": "299.99", "currency": "USD", "reason": "x"},
        expect=422,
    )
    assert "amount" in below["errors"]
    decreased = ledger.call(
        "POST",
        f"/spending-requests/{request['id']}/decrease",
        "treasurer",
        {
            "amount": "600.00",
            "currency": "USD",
            "reason": "Bill of quantities revised after site survey.",
        },
    )
    assert decreased["amount"] == "600.00"
    assert decreased["requested"] == "1000.00"
    assert decreased["remaining"] == "300.00"
    base = ledger.position(fund_id)["base"]
    assert base["committed"] == "600.00"
    assert base["committed_not_disbursed"] == "300.00"
    assert base["available"] == str(f"{20000000 - 600:.2f}")
    assert ledger.trial_balance(fund_id)["balanced"] is True
    amendments = ledger.get(f"/spending-requests/{request['id']}/amendments")["items"]
    assert [(a["kind"], a["old_amount"], a["new_amount"]) for a in amendments] == [
        ("decrease", "1000.00", "600.00")
    ]
    releases = ledger.get(f"/journal/entries?kind=commitment_release&fund_id={fund_id}")["items"]
    assert len(releases) == 1
    assert ledger.disburse(request["id"], "300.01", expect=409)["code"] == "exceeds_approval"


def test_released_commitment_frees_the_cash_for_another_approval(ledger):
    world = ledger.funded(received="1000.00")
    first = submit(ledger, world, "1000.00")
    ledger.approve(first["id"])
    second = submit(ledger, world, "400.00")
    ledger.vote(second["id"], "member-un")
    assert ledger.vote(second["id"], "member-eu", expect=409)["code"] == "insufficient_funds"
    ledger.call(
        "POST",
        f"/spending-requests/{first['id']}/decrease",
        "clerk",
        {"amount": "600.00", "currency": "USD", "reason": "Scope reduced."},
    )
    assert ledger.vote(second["id"], "member-eu")["spending_request"]["status"] == "approved"
    assert ledger.position(world["fund"]["id"])["base"]["available"] == "0.00"


def test_cancelling_an_approval_releases_what_is_not_paid(ledger, rich):
    fund_id = rich["fund"]["id"]
    request = submit(ledger, rich, "1000.00")
    ledger.approve(request["id"])
    ledger.disburse(request["id"], "250.00")
    cancelled = ledger.call(
        "POST",
        f"/spending-requests/{request['id']}/cancel",
        "treasurer",
        {"reason": "Contractor withdrew."},
    )
    assert cancelled["status"] == "cancelled"
    assert cancelled["amount"] == "250.00"
    base = ledger.position(fund_id)["base"]
    assert base["committed"] == "250.00"
    assert base["committed_not_disbursed"] == "0.00"
    assert ledger.disburse(request["id"], "1.00", expect=409)["code"] == "not_approved"
    assert ledger.trial_balance(fund_id)["balanced"] is True


def test_an_increase_is_a_new_request_that_references_the_old(ledger, rich):
    request = submit(ledger, rich, "1000.00")
    pending = submit(ledger, rich, "10.00", amends_request_id=request["id"], expect=422)
    assert "amends_request_id" in pending["errors"]
    ledger.approve(request["id"])
    increase = submit(ledger, rich, "500.00", amends_request_id=request["id"])
    assert increase["amends_request_id"] == request["id"]
    assert increase["status"] == "pending"
    assert ledger.get(f"/spending-requests/{request['id']}")["amount"] == "1000.00"


def test_tranche_two_is_payable_only_after_use_of_tranche_one_is_accepted(ledger, rich):
    request = submit(ledger, rich, "1000.00", tranches=[{"percent": "40"}, {"percent": "60"}])
    assert [t["amount"] for t in request["tranches"]] == ["400.00", "600.00"]
    ledger.approve(request["id"])
    ledger.disburse(request["id"], "400.00")
    locked = ledger.disburse(request["id"], "0.01", expect=409)
    assert locked["code"] == "tranche_locked"
    assert locked["payable"] == "0.00"
    use = f"/spending-requests/{request['id']}/tranches/1/use-reports"
    first = ledger.call(
        "POST",
        use,
        "clerk",
        {"amount_used": "250.00", "currency": "USD", "reference": "UR-1"},
        expect=201,
    )
    own = ledger.call(
        "POST", f"/use-reports/{first['id']}/accept", "clerk", {"note": "ok"}, expect=403
    )
    assert own["code"] == "forbidden"  # clerks do not review; reviewers are treasury/compliance
    ledger.call(
        "POST", f"/use-reports/{first['id']}/accept", "treasurer", {"note": "Invoices seen."}
    )
    # 250.00 of 400.00 is 62.5%: below 70%, tranche 2 stays locked.
    assert ledger.disburse(request["id"], "1.00", expect=409)["code"] == "tranche_locked"
    second = ledger.call(
        "POST",
        use,
        "clerk",
        {"amount_used": "30.00", "currency": "USD", "reference": "UR-2"},
        expect=201,
    )
    ledger.call("POST", f"/use-reports/{second['id']}/accept", "compliance", {"note": "ok"})
    state = ledger.get(f"/spending-requests/{request['id']}")
    assert [t["released"] for t in state["tranches"]] == [True, True]
    assert state["tranches"][0]["use_accepted"] == "280.00"
    ledger.disburse(request["id"], "600.00")
    events = {e["action"] for e in ledger.get("/audit-events?limit=500")["items"]}
    assert {"tranche_use.reported", "tranche_use.accepted", "tranche.released"} <= events


def test_whoever_recorded_a_use_report_does_not_accept_it(ledger, rich):
    ledger.user("treasury-clerk", ["clerk", "treasurer"])
    request = submit(ledger, rich, "1000.00", tranches=[{"amount": "500.00"}, {"amount": "500.00"}])
    ledger.approve(request["id"])
    ledger.disburse(request["id"], "500.00")
    report = ledger.call(
        "POST",
        f"/spending-requests/{request['id']}/tranches/1/use-reports",
        "treasury-clerk",
        {"amount_used": "400.00", "currency": "USD", "reference": "UR-9"},
        expect=201,
    )
    refused = ledger.call(
        "POST",
        f"/use-reports/{report['id']}/accept",
        "treasury-clerk",
        {"note": "mine"},
        expect=403,
    )
    assert refused["code"] == "separation_of_duties"


def test_reported_use_cannot_exceed_what_was_paid_in_the_tranche(ledger, rich):
    request = submit(ledger, rich, "1000.00", tranches=[{"amount": "500.00"}, {"amount": "500.00"}])
    ledger.approve(request["id"])
    ledger.disburse(request["id"], "200.00")
    refused = ledger.call(
        "POST",
        f"/spending-requests/{request['id']}/tranches/1/use-reports",
        "clerk",
        {"amount_used": "200.01", "currency": "USD", "reference": "X"},
        expect=422,
    )
    assert "amount_used" in refused["errors"]


def test_a_schedule_must_add_up(ledger, rich):
    bad = submit(
        ledger, rich, "1000.00", tranches=[{"amount": "400.00"}, {"amount": "500.00"}], expect=422
    )
    assert "tranches" in bad["errors"]
    mixed = submit(
        ledger, rich, "1000.00", tranches=[{"amount": "400.00"}, {"percent": "60"}], expect=422
    )
    assert "tranches" in mixed["errors"]


def test_changing_the_policy_never_changes_a_decision_already_made(app, ledger, rich):
    request = submit(ledger, rich, "1000.00")
    ledger.approve(request["id"])
    stricter = parse_policy(
        {
            "version": "2099-01-01",
            "rejections_to_veto": 1,
            "tiers": [{"name": "everything", "approvals": 5, "institutions": 4, "chair": True}],
        }
    )
    original = app.extensions["ledger.quorum_policy"]
    app.extensions["ledger.quorum_policy"] = stricter
    try:
        state = ledger.get(f"/spending-requests/{request['id']}")
        pending = submit(ledger, rich, "1000.00")
    finally:
        app.extensions["ledger.quorum_policy"] = original
    assert state["status"] == "approved"
    assert state["policy_version"] == "2021-06-01"
    assert state["quorum"]["policy_version"] == "2021-06-01"
    assert state["quorum"]["required"]["approvals"] == 2
    assert pending["policy_version"] == "2099-01-01"


def test_the_queue_lists_what_awaits_my_vote_with_what_is_missing(ledger, rich):
    first = submit(ledger, rich, "1000.00")
    second = submit(ledger, rich, "300000.00")
    ledger.vote(first["id"], "member-un")
    queue = ledger.get("/committee/queue", "member-un")
    assert [r["id"] for r in queue] == [second["id"]]
    assert queue[0]["quorum"]["missing"] == [
        "3 more approval(s)",
        "approvals from 2 more institution(s)",
    ]
    assert [r["id"] for r in ledger.get("/committee/queue", "member-eu")] == [
        first["id"],
        second["id"],
    ]
    assert ledger.call("GET", "/committee/queue", "clerk", expect=403)["code"] == "forbidden"


def test_the_decisions_register_lists_votes_tier_and_outcome(ledger, rich):
    approved = submit(ledger, rich, "1000.00")
    ledger.approve(approved["id"])
    rejected = submit(ledger, rich, "2000.00")
    ledger.vote(rejected["id"], "member-qatar", "reject")
    submit(ledger, rich, "3000.00")  # pending: not in the register
    register = ledger.get(f"/reports/decisions?fund_id={rich['fund']['id']}")["items"]
    assert [(r["id"], r["status"]) for r in register] == [
        (approved["id"], "approved"),
        (rejected["id"], "rejected"),
    ]
    assert register[1]["votes"][0]["comment"] == "reject by member-qatar"
    by_qatar = ledger.get("/reports/decisions?institution=Qatar")["items"]
    assert [r["id"] for r in by_qatar] == [rejected["id"]]
    only_rejected = ledger.get("/reports/decisions?outcome=rejected")["items"]
    assert [r["id"] for r in only_rejected] == [rejected["id"]]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert (
        len(ledger.get(f"/reports/decisions?decided_from={today}&decided_to={today}")["items"]) == 2
    )
    assert ledger.get("/reports/decisions?decided_to=2021-01-01")["items"] == []


def test_a_vote_cast_before_a_declared_conflict_does_not_count(ledger, rich):
    request = submit(ledger, rich, "1000.00")
    ledger.vote(request["id"], "member-un")
    ledger.call(
        "POST",
        "/committee/conflicts",
        "member-un",
        {"payee_id": rich["payee"]["id"], "reason": "Learned of a family link."},
        expect=201,
    )
    state = ledger.get(f"/spending-requests/{request['id']}")
    assert state["quorum"]["approvals"] == 0
    assert state["status"] == "pending"
    ledger.vote(request["id"], "member-eu")
    assert ledger.vote(request["id"], "member-qatar")["spending_request"]["status"] == "approved"
