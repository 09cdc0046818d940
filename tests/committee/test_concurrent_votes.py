"""32 members voting at once on one request decide it exactly once."""

import threading
from collections import Counter

import pytest

# Real commits: 32 threads, each with a connection of its own, race for the lock.
pytestmark = pytest.mark.real_commits

# Two members per institution: whichever three approvals take the lock first come
# from at least two institutions, so the third always decides (with four members
# per institution, three of one institution first would need a fourth approval).
INSTITUTIONS = [
    "Egypt", "UN", "EU", "Qatar", "Jordan", "Norway", "Japan", "AU",
    "Turkey", "Kuwait", "Canada", "UK", "Germany", "Switzerland", "Sweden", "World Bank",
]  # fmt: skip


@pytest.mark.parametrize("round_", range(3))
def test_32_simultaneous_votes_decide_a_request_once(app, ledger, round_):
    tokens = [
        ledger.user(f"m{round_}-{i}", ["committee_member"], INSTITUTIONS[i % 16]) for i in range(32)
    ]
    world = ledger.funded(received="1000000.00")
    request = ledger.request(
        world["fund"]["id"], world["project"]["id"], world["payee"]["id"], "300000.00"
    )
    barrier = threading.Barrier(len(tokens))
    results = [None] * len(tokens)

    def vote(i):
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/spending-requests/{request['id']}/votes",
            json={"decision": "approve", "comment": "yes"},
            headers={"Authorization": f"Bearer {tokens[i]}"},
        )
        results[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=vote, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    statuses = Counter(status for status, _ in results)
    # Tier "up to 5,000,000": three approvals from two institutions decide it.
    assert statuses == {201: 3, 409: 29}, statuses
    assert {body["code"] for status, body in results if status == 409} == {"not_pending"}
    deciding = [b for s, b in results if s == 201 and b["spending_request"]["status"] == "approved"]
    assert len(deciding) == 1
    state = ledger.get(f"/spending-requests/{request['id']}")
    assert state["status"] == "approved"
    assert len(state["votes"]) == 3
    decisions = ledger.get("/audit-events?action=spending_request.approved")["items"]
    assert [e["entity_id"] for e in decisions] == [str(request["id"])]
    commitments = ledger.get(f"/journal/entries?kind=commitment&source_id={request['id']}")["items"]
    assert len(commitments) == 1
    assert ledger.position(world["fund"]["id"])["base"]["committed"] == "300000.00"
    assert ledger.get("/audit-events/verify")["valid"] is True
