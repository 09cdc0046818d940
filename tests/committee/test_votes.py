"""Spending requests and votes: quorum, separation of duties, cash-backed commitments."""


def test_deciding_vote_approves_and_commits_the_money(ledger):
    world = ledger.funded(received="1000000.00")
    fund_id = world["fund"]["id"]
    req = ledger.request(fund_id, world["project"]["id"], world["payee"]["id"], "300000.00")
    assert req["tier"] == "up to 5,000,000"
    assert req["quorum"]["missing"] == [
        "3 more approval(s)",
        "approvals from 2 more institution(s)",
    ]
    first = ledger.vote(req["id"], "member-egypt")
    assert first["spending_request"]["status"] == "pending"
    assert ledger.position(fund_id)["base"]["committed"] == "0.00"
    ledger.vote(req["id"], "member-egypt2")
    decided = ledger.vote(req["id"], "member-un")["spending_request"]
    assert decided["status"] == "approved"
    assert decided["policy_version"] == "2021-06-01"
    assert decided["quorum"]["institutions"] == ["Egypt", "UN"]
    base = ledger.position(fund_id)["base"]
    assert base["committed"] == "300000.00"
    assert base["committed_not_disbursed"] == "300000.00"
    assert base["available"] == "700000.00"


def test_submitter_cannot_vote_on_their_own_request(ledger):
    world = ledger.funded()
    ledger.user("clerk-member", ["clerk", "committee_member"], "UN")
    req = ledger.request(
        world["fund"]["id"],
        world["project"]["id"],
        world["payee"]["id"],
        "1000.00",
        as_="clerk-member",
    )
    refused = ledger.vote(req["id"], "clerk-member", expect=403)
    assert refused["code"] == "separation_of_duties"
    refusals = ledger.get("/refusals?code=separation_of_duties")["items"]
    assert [r["spending_request_id"] for r in refusals] == [req["id"]]


def test_a_member_votes_once_and_cannot_change_the_vote(ledger):
    world = ledger.funded()
    req = ledger.request(
        world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "500.00"
    )
    ledger.vote(req["id"], "member-un")
    again = ledger.vote(req["id"], "member-un", "reject", expect=409)
    assert again["code"] == "already_voted"
    votes = ledger.get(f"/spending-requests/{req['id']}/votes")["items"]
    assert [v["decision"] for v in votes] == ["approve"]


def test_one_rejection_vetoes_and_commits_nothing(ledger):
    world = ledger.funded()
    fund_id = world["fund"]["id"]
    req = ledger.request(fund_id, world["project"]["id"], world["payee"]["id"], "500.00")
    ledger.vote(req["id"], "member-un")
    rejected = ledger.vote(req["id"], "member-eu", "reject")["spending_request"]
    assert rejected["status"] == "rejected"
    late = ledger.vote(req["id"], "member-qatar", expect=409)
    assert late["code"] == "not_pending"
    assert ledger.position(fund_id)["base"]["committed"] == "0.00"


def test_only_committee_members_vote(ledger):
    world = ledger.funded()
    req = ledger.request(
        world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "500.00"
    )
    refused = ledger.vote(req["id"], "treasurer", expect=403)
    assert refused["code"] == "forbidden"


def test_commitment_beyond_uncommitted_cash_is_refused(ledger):
    world = ledger.funded(received="100000.00", pledged="1000000.00")
    fund_id, project_id, payee_id = (
        world["fund"]["id"],
        world["project"]["id"],
        world["payee"]["id"],
    )
    first = ledger.request(fund_id, project_id, payee_id, "80000.00")
    ledger.approve(first["id"])
    second = ledger.request(fund_id, project_id, payee_id, "20000.01")
    ledger.vote(second["id"], "member-egypt")
    refused = ledger.vote(second["id"], "member-un", expect=409)
    assert refused["code"] == "insufficient_funds"
    assert refused["available"] == "20000.00"
    # The refused vote was not recorded; the request still waits, nothing committed.
    state = ledger.get(f"/spending-requests/{second['id']}")
    assert state["status"] == "pending"
    assert len(state["votes"]) == 1
    assert ledger.position(fund_id)["base"]["committed"] == "80000.00"
    # Pledged but unreceived money does not back commitments: receiving it does.
    ledger.contribute(world["pledge"]["id"], "0.01")
    assert ledger.vote(second["id"], "member-un")["spending_request"]["status"] == "approved"
    assert ledger.position(fund_id)["base"]["available"] == "0.00"


def test_earmarked_money_is_not_committed_outside_its_earmark(ledger):
    fund = ledger.fund()
    us = ledger.donor("United States of America", "government", "US")
    water_only = ledger.pledge(
        fund["id"], us["id"], "500000.00", earmark={"sector": "water_sanitation"}
    )
    ledger.contribute(water_only["id"], "500000.00")
    shelter = ledger.project(fund["id"])
    water = ledger.project(
        fund["id"], "Water network, Khan Younis", "water_sanitation", "Khan Younis"
    )
    payee = ledger.payee()
    housing_request = ledger.request(fund["id"], shelter["id"], payee["id"], "1000.00")
    ledger.vote(housing_request["id"], "member-un")
    refused = ledger.vote(housing_request["id"], "member-eu", expect=409)
    assert refused["code"] == "earmark_violation"
    assert refused["available_for_project"] == "0.00"
    water_request = ledger.request(fund["id"], water["id"], payee["id"], "1000.00")
    assert ledger.approve(water_request["id"])["status"] == "approved"


def test_request_for_a_project_of_another_fund_is_refused(ledger):
    world = ledger.funded()
    other = ledger.fund("Another fund")
    refused = ledger.request(
        other["id"], world["project"]["id"], world["payee"]["id"], "10.00", expect=422
    )
    assert "project_id" in refused["errors"]
