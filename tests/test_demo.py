"""The demo is a coherent story of 2021 (issue 22): each step on its day, so that
every report as of a date of 2021 shows what stood then, and the README's
examples, run today, work as printed."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient, FlaskCliRunner

API = "/api/v1"
AUDITOR = {"Authorization": "Bearer demo-auditor-token"}


def load(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output


def report(client: FlaskClient, name: str, as_of: str | None = None) -> Any:
    query = f"?fund_id=1&as_of={as_of}" if as_of else "?fund_id=1"
    response = client.get(f"{API}/reports/{name}{query}", headers=AUDITOR)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_demo_reports_as_of_2021_show_what_stood_then(runner, client):
    load(runner)
    june = report(client, "fund-position", "2021-06-30")["base"]
    assert (june["received"], june["committed"], june["cash"]) == (
        "55000000.00",
        "0.00",
        "55000000.00",
    )
    august = report(client, "fund-position", "2021-08-31")["base"]
    assert (august["committed"], august["disbursed"]) == ("2880000.00", "1180000.00")
    year_end = report(client, "fund-position", "2021-12-31")["base"]
    assert year_end["committed"] == "3730000.00"
    assert year_end["disbursed"] == "1630000.00"
    assert year_end["committed_not_disbursed"] == "2100000.00"
    assert year_end["cash"] == "73550000.00"
    decisions = report(client, "decisions-register", "2021-12-31")["rows"]
    assert [row["request_id"] for row in decisions] == [1, 2, 3, 6, 7, 8, 9]
    assert all(row["decided_at"].startswith("2021-") for row in decisions)
    for as_of in ("2021-06-30", "2021-08-31", "2021-12-31"):
        assert report(client, "trial-balance", as_of)["balanced"] is True


def test_the_demo_events_follow_each_other_in_time(runner, client):
    load(runner)
    events = client.get(f"{API}/audit-events?limit=500", headers=AUDITOR).get_json()["items"]
    moments = [e["occurred_at"] for e in sorted(events, key=lambda e: e["seq"])]
    assert moments == sorted(moments)
    assert moments[0].startswith("2021-05-17")


def test_the_readme_walkthrough_votes_and_pays_today(runner, client):
    """Request 4 is still pending today: two more approvals commit it, and the
    treasurer pays it with today's date (after the approval)."""
    load(runner)
    for member, comment in (("un", "Equipment list checked."), ("eu", "Agreed.")):
        response = client.post(
            f"{API}/spending-requests/4/votes",
            json={"decision": "approve", "comment": comment},
            headers={"Authorization": f"Bearer demo-member-{member}-token"},
        )
        assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["spending_request"]["status"] == "approved"
    paid = client.post(
        f"{API}/disbursements",
        json={
            "spending_request_id": 4,
            "amount": "250000.00",
            "currency": "USD",
            "reference": "PAY-2021-0101",
        },
        headers={
            "Authorization": "Bearer demo-treasurer-token",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    assert paid.status_code == 201, paid.get_data(as_text=True)
