"""The operations commands (SPEC §7), as a script would run them.

Each command runs through the ``runner`` fixture against the backend under test;
its effect is checked through the API, as the people it serves would see it.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from click.testing import Result
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy.orm import Session

API = "/api/v1"


def run(runner: FlaskCliRunner, *args: str) -> Result:
    return runner.invoke(args=list(args))


def last_line(result: Result) -> str:
    return result.output.rstrip("\n").splitlines()[-1]


def me(client: FlaskClient, token: str) -> Any:
    return client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})


def create_user(runner: FlaskCliRunner, name: str, *options: str) -> str:
    """Run ``users create`` and return the token it printed."""
    result = run(runner, "users", "create", name, *options)
    assert result.exit_code == 0, result.output
    return last_line(result)


# ---------------------------------------------------------------- users create


def test_users_create_prints_a_token_alone_on_its_last_line_that_authenticates(runner, client):
    result = run(runner, "users", "create", "amina", "--role", "clerk")

    assert result.exit_code == 0, result.output
    token = last_line(result)
    assert token and " " not in token and "\t" not in token
    response = me(client, token)
    assert response.status_code == 200
    assert response.get_json()["name"] == "amina"
    assert response.get_json()["roles"] == ["clerk"]


def test_users_create_gives_every_role_named_by_repeated_role_options(runner, client):
    token = create_user(runner, "omar", "--role", "clerk", "--role", "treasurer")

    assert sorted(me(client, token).get_json()["roles"]) == ["clerk", "treasurer"]


def test_users_create_committee_member_with_institution_and_chair(runner, client):
    token = create_user(
        runner, "chair", "--role", "committee_member", "--institution", "Egypt", "--chair"
    )

    body = me(client, token).get_json()
    assert body["roles"] == ["committee_member"]
    assert body["institution"] == "Egypt"
    assert body["is_chair"] is True


def test_users_create_committee_member_without_institution_is_a_usage_error(runner, client):
    result = run(runner, "users", "create", "nadia", "--role", "committee_member")

    assert result.exit_code == 2
    assert "--institution" in result.output
    # Nothing was created: the name is still free.
    create_user(runner, "nadia", "--role", "committee_member", "--institution", "UN")


def test_users_create_with_an_unknown_role_is_a_usage_error(runner):
    result = run(runner, "users", "create", "someone", "--role", "superuser")

    assert result.exit_code == 2
    assert "superuser" in result.output


def test_users_create_without_a_role_is_a_usage_error(runner):
    result = run(runner, "users", "create", "someone")

    assert result.exit_code == 2


def test_users_create_refuses_a_name_already_taken(runner):
    create_user(runner, "layla", "--role", "clerk")

    result = run(runner, "users", "create", "layla", "--role", "auditor")

    assert result.exit_code != 0


# ---------------------------------------------------------------- tokens


def test_tokens_issue_prints_a_new_working_token_and_the_old_one_still_works(runner, client):
    first = create_user(runner, "karim", "--role", "auditor")

    result = run(runner, "tokens", "issue", "karim")

    assert result.exit_code == 0, result.output
    second = last_line(result)
    assert second != first
    assert me(client, second).get_json()["name"] == "karim"
    assert me(client, first).status_code == 200


def test_tokens_issue_for_an_unknown_user_is_a_usage_error(runner):
    result = run(runner, "tokens", "issue", "nobody")

    assert result.exit_code == 2
    assert "nobody" in result.output


def test_tokens_revoke_stops_the_token_at_once(runner, client):
    admin = create_user(runner, "root", "--role", "admin")
    token = create_user(runner, "yusuf", "--role", "clerk")
    user_id = me(client, token).get_json()["id"]
    tokens = client.get(
        f"{API}/users/{user_id}/tokens", headers={"Authorization": f"Bearer {admin}"}
    ).get_json()["items"]
    assert len(tokens) == 1

    result = run(runner, "tokens", "revoke", str(tokens[0]["id"]))

    assert result.exit_code == 0, result.output
    response = me(client, token)
    assert response.status_code == 401
    assert response.get_json()["code"] == "unauthenticated"
    assert me(client, admin).status_code == 200


def test_tokens_revoke_of_an_unknown_token_is_a_usage_error(runner):
    result = run(runner, "tokens", "revoke", "999999")

    assert result.exit_code == 2


# ---------------------------------------------------------------- audit verify


def audit_report(runner: FlaskCliRunner) -> tuple[int, dict[str, Any]]:
    result = run(runner, "audit", "verify")
    return result.exit_code, json.loads(result.output)


def test_audit_verify_exits_0_on_a_valid_chain(runner):
    create_user(runner, "auditor-1", "--role", "auditor")
    create_user(runner, "clerk-1", "--role", "clerk")

    code, report = audit_report(runner)

    assert code == 0
    assert report["valid"] is True
    assert report["events_checked"] >= 4  # two users created, two tokens issued
    assert report["first_broken_seq"] is None


def test_audit_verify_exits_1_and_names_the_event_tampered_with(runner, session: Session):
    for name in ("a", "b", "c"):
        create_user(runner, f"user-{name}", "--role", "clerk")
    seq = session.scalar(sa.text("SELECT seq FROM audit_events ORDER BY seq LIMIT 1 OFFSET 2"))
    assert seq is not None
    if session.get_bind().dialect.name == "postgresql":
        # The owner switching the append-only triggers off, as an attacker with
        # the owner's password could: only the chain check still stands.
        session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    session.execute(
        sa.text("UPDATE audit_events SET actor_name = 'someone else' WHERE seq = :seq"),
        {"seq": seq},
    )
    session.commit()

    code, report = audit_report(runner)

    assert code == 1
    assert report["valid"] is False
    assert report["first_broken_seq"] == seq


# ---------------------------------------------------------------- demo load


def test_demo_load_if_empty_loads_a_balanced_fund_with_working_tokens(runner, client):
    result = run(runner, "demo", "load", "--if-empty")

    assert result.exit_code == 0, result.output
    assert "demo-auditor-token" in result.output
    auditor = {"Authorization": "Bearer demo-auditor-token"}
    assert me(client, "demo-auditor-token").get_json()["roles"] == ["auditor"]
    funds = client.get(f"{API}/funds", headers=auditor).get_json()["items"]
    assert len(funds) == 1
    fund_id = funds[0]["id"]
    balance = client.get(f"{API}/reports/trial-balance?fund_id={fund_id}", headers=auditor)
    assert balance.status_code == 200
    assert balance.get_json()["balanced"] is True
    assert balance.get_json()["rows"], "the demo fund has money in it"
    chain = client.get(f"{API}/audit-events/verify", headers=auditor).get_json()
    assert chain["valid"] is True
    assert chain["events_checked"] > 0
    code, _report = audit_report(runner)
    assert code == 0


def test_demo_tokens_printed_carry_the_roles_printed(runner, client):
    run(runner, "demo", "load", "--if-empty")

    assert me(client, "demo-treasurer-token").get_json()["roles"] == ["treasurer"]
    egypt = me(client, "demo-member-egypt-token").get_json()
    assert egypt["institution"] == "Egypt"
    assert egypt["is_chair"] is True


def test_demo_load_if_empty_a_second_time_loads_nothing(runner, client):
    assert run(runner, "demo", "load", "--if-empty").exit_code == 0
    auditor = {"Authorization": "Bearer demo-auditor-token"}
    events_before = client.get(f"{API}/audit-events/verify", headers=auditor).get_json()

    result = run(runner, "demo", "load", "--if-empty")

    assert result.exit_code == 0, result.output
    assert "already present" in result.output
    assert len(client.get(f"{API}/funds", headers=auditor).get_json()["items"]) == 1
    events_after = client.get(f"{API}/audit-events/verify", headers=auditor).get_json()
    assert events_after["head_seq"] == events_before["head_seq"]
