"""Restricted payees: refused at request, approval and payment; four eyes to lift."""


def restrict(ledger, payee_id, officer="compliance"):
    return ledger.call(
        "POST",
        f"/payees/{payee_id}/restrictions",
        officer,
        {"reason": "Listed by the committee's vetting, case CV-2021-014"},
        expect=201,
    )


def test_restricted_payee_gets_no_new_request(ledger):
    world = ledger.funded()
    restrict(ledger, world["payee"]["id"])
    refused = ledger.request(
        world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "10.00", expect=409
    )
    assert refused["code"] == "payee_restricted"
    assert refused["payee_id"] == world["payee"]["id"]
    payee = ledger.get(f"/payees/{world['payee']['id']}")
    assert payee["payable"] is False
    assert payee["blocks"][0]["reason"] == "restricted"


def test_approving_vote_for_a_restricted_payee_is_refused_but_rejecting_is_not(ledger):
    world = ledger.funded()
    req = ledger.request(world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "10.00")
    restrict(ledger, world["payee"]["id"])
    refused = ledger.vote(req["id"], "member-un", expect=409)
    assert refused["code"] == "payee_restricted"
    assert ledger.vote(req["id"], "member-eu", "reject")["spending_request"]["status"] == "rejected"


def test_disbursement_refused_when_payee_restricted_after_approval(ledger):
    world = ledger.approved("1000.00")
    ledger.disburse(world["request"]["id"], "100.00")
    restrict(ledger, world["payee"]["id"])
    refused = ledger.disburse(world["request"]["id"], "100.00", expect=409)
    assert refused["code"] == "payee_restricted"
    assert ledger.get(f"/spending-requests/{world['request']['id']}")["disbursed"] == "100.00"
    refusals = ledger.get("/refusals?code=payee_restricted")["items"]
    assert len(refusals) == 1
    evidence = refusals[0]["evidence"]
    assert evidence["action"] == "disburse"
    assert evidence["blocks"][0]["reason"] == "restricted"
    assert refusals[0]["actor_id"] == ledger.user_ids["treasurer"]
    assert refusals[0]["spending_request_id"] == world["request"]["id"]


def test_disbursement_refused_when_related_party_restricted(ledger):
    world = ledger.funded()
    owner = ledger.payee("Abu Khalil Holdings")
    payee = ledger.payee(
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
    req = ledger.request(world["fund"]["id"], world["project"]["id"], payee["id"], "500.00")
    ledger.approve(req["id"])
    restrict(ledger, owner["id"])
    refused = ledger.disburse(req["id"], "500.00", expect=409)
    assert refused["code"] == "payee_restricted"
    block = ledger.get("/refusals")["items"][0]["evidence"]["blocks"][0]
    assert block["reason"] == "related_party_restricted"
    assert block["related_party"]["name"] == "Abu Khalil Holdings"


def test_whoever_set_a_restriction_cannot_lift_it(ledger):
    world = ledger.funded()
    restriction = restrict(ledger, world["payee"]["id"], "compliance")
    refused = ledger.call(
        "POST",
        f"/restrictions/{restriction['id']}/lift",
        "compliance",
        {"reason": "cleared"},
        expect=403,
    )
    assert refused["code"] == "separation_of_duties"
    lifted = ledger.call(
        "POST",
        f"/restrictions/{restriction['id']}/lift",
        "compliance2",
        {"reason": "Vetting error: different person, same name (case CV-2021-014/2)"},
    )
    assert lifted["active"] is False
    assert lifted["lifted_by"] == ledger.user_ids["compliance2"]
    again = ledger.call(
        "POST",
        f"/restrictions/{restriction['id']}/lift",
        "compliance2",
        {"reason": "x"},
        expect=409,
    )
    assert again["code"] == "already_lifted"
    # History stays: the lifted restriction is still listed.
    history = ledger.get(f"/payees/{world['payee']['id']}/restrictions")["items"]
    assert [r["active"] for r in history] == [False]
    ledger.request(world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "10.00")


def test_only_compliance_restricts(ledger):
    world = ledger.funded()
    refused = ledger.call(
        "POST",
        f"/payees/{world['payee']['id']}/restrictions",
        "clerk",
        {"reason": "x"},
        expect=403,
    )
    assert refused["code"] == "forbidden"
