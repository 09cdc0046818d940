"""What an ordinary payment sends to the database: the list in docs/architecture.md
("A payment's statements"). Speed comes from sending fewer; a change that adds one
fails here and says which, so that it is a decision, not an accident."""

from __future__ import annotations

import re

from tests.factories import statements

# docs/architecture.md, "A payment's statements", in order.
EXPECTED = [
    "SELECT users.id",  # the token, its user and roles
    "INSERT INTO idempotency_keys",  # the key's claim
    "SELECT spending_requests.id",  # the request, locked, with what paying it needs
    "SELECT payees.id",  # the payee with its related parties
    "SELECT anon_1.payee_id",  # every block on the payee
    "INSERT INTO disbursements",
    "INSERT INTO journal_entries",
    "INSERT INTO journal_lines",
    "SELECT allocations.contribution_id",  # what each contribution has left
    "INSERT INTO disbursement_allocations",
    "UPDATE spending_requests",  # the paid amount
    "UPDATE idempotency_keys",  # the answer
    "SELECT audit_chain_head.seq",  # the chain head, locked
    "INSERT INTO audit_events",
    "UPDATE audit_chain_head",
]


def test_an_ordinary_payment_sends_the_documented_statements(app, ledger):
    world = ledger.approved("100.00")
    ledger.disburse(world["request"]["id"], "10.00")  # the first: caches warm
    with statements(app) as seen:
        ledger.disburse(world["request"]["id"], "10.00")
    sent = [
        re.sub(r"\s+", " ", s).strip()
        for s in seen
        if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", s, re.IGNORECASE)
    ]
    assert len(sent) == len(EXPECTED), "\n".join(sent)
    for statement, expected in zip(sent, EXPECTED, strict=True):
        assert statement.startswith(expected), statement
