"""The auditor's pages (issue 24, item 5): a fund's dashboard as of a date, with
the reports' own figures and the PDF's charts; every report to download, the same
file as the API's; the audit chain, checked, with its signed checkpoints."""

from __future__ import annotations

import re

from tests.console.test_committee_pages import as_member
from tests.console.test_sign_in import sign_in

API = "/api/v1/reports"
AUDITOR = {"Authorization": "Bearer demo-auditor-token"}
YEAR_END = "/console/funds/1?as_of=2021-12-31"


def test_the_auditor_sees_the_fund_as_of_the_end_of_2021(runner, client):
    as_member(runner, client, "auditor")
    home = client.get("/console/").data.decode()
    assert 'href="/console/funds"' in home and 'href="/console/audit"' in home
    funds = client.get("/console/funds").data.decode()
    assert '<a href="/console/funds/1"><bdi>Gaza Reconstruction Fund 2021</bdi></a>' in funds

    page = client.get(YEAR_END)
    text = page.data.decode()
    assert page.status_code == 200
    # The fund position as of the year's end (README, tests/test_demo.py).
    for figure in ("3,730,000.00", "1,630,000.00", "73,550,000.00"):
        assert f'<td class="num">{figure}</td>' in text, figure
    # Per donor, per sector, per location: the reports' own rows, in words.
    pledges = client.get(f"{API}/pledge-tracker?fund_id=1&as_of=2021-12-31", headers=AUDITOR)
    for row in pledges.get_json()["rows"]:
        assert f"<bdi>{row['donor']}</bdi>" in text
        assert f'<td class="num">{float(row["base_received"]):,.2f}</td>' in text
    sectors = client.get(
        f"{API}/budget-execution-by-sector?fund_id=1&as_of=2021-12-31", headers=AUDITOR
    ).get_json()
    assert sectors["rows"] and "<bdi>Health</bdi>" in text
    for row in sectors["rows"]:
        assert f'<td class="num">{float(row["disbursed"]):,.2f}</td>' in text
    assert "<bdi>Deir al-Balah</bdi>" in text
    # Each chart is an image the console serves.
    charts = re.findall(r'<img class="chart" src="([^"]+)"', text)
    assert len(charts) == 4
    chart = client.get(charts[0].replace("&amp;", "&"))
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert chart.data.lstrip().startswith(b"<?xml") and b"<svg" in chart.data
    assert client.get("/console/funds/1/charts/nothing.svg").status_code == 404

    # A wrong date is refused with its reason; today is the default.
    wrong = client.get("/console/funds/1?as_of=31/12/2021")
    assert wrong.status_code == 422 and "Not a valid date value" in wrong.data.decode()
    assert client.get("/console/funds/1").status_code == 200
    assert client.get("/console/funds/99").status_code == 404

    client.get("/console/language/ar")
    arabic = client.get(YEAR_END).data.decode()
    assert "مصادر الأموال واستخداماتها" in arabic and "3,730,000.00" in arabic


def test_every_report_downloads_as_the_api_serves_it(runner, client):
    as_member(runner, client, "auditor")
    page = client.get(YEAR_END).data.decode()
    for name in ("fund-position", "pledge-tracker", "journal", "audit-trail", "donor-trace"):
        for fmt in ("json", "csv", "xlsx", "pdf"):
            link = f"/console/funds/1/reports/{name}.{fmt}?as_of=2021-12-31"
            assert f'href="{link}"' in page, link

    def both(name: str, fmt: str, extra: str = ""):  # type: ignore[no-untyped-def]
        console = client.get(f"/console/funds/1/reports/{name}.{fmt}?as_of=2021-12-31{extra}")
        api = client.get(
            f"{API}/{name}?fund_id=1&as_of=2021-12-31&format={fmt}{extra}", headers=AUDITOR
        )
        assert console.status_code == api.status_code == 200, console.data[:300]
        assert console.headers["Content-Type"] == api.headers["Content-Type"]
        assert console.headers.get("Content-Disposition") == api.headers.get("Content-Disposition")
        return console, api

    pdf, _ = both("fund-position", "pdf")
    assert pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"] == (
        'attachment; filename="fund-position-fund1-2021-12-31.pdf"'
    )
    xlsx, _ = both("pledge-tracker", "xlsx")
    assert xlsx.data.startswith(b"PK")
    csv, api_csv = both("budget-execution-by-sector", "csv")
    assert csv.data == api_csv.data
    position, api_position = both("fund-position", "json")
    assert position.get_json() == api_position.get_json()
    assert position.get_json()["base"]["committed"] == "3730000.00"

    # A donor's statement: the donor trace of one donor, linked beside each donor.
    donor = client.get(f"{API}/pledge-tracker?fund_id=1&as_of=2021-12-31", headers=AUDITOR)
    donor_id = donor.get_json()["rows"][0]["donor_id"]
    link = f"/console/funds/1/reports/donor-trace.pdf?as_of=2021-12-31&amp;donor_id={donor_id}"
    assert link in page
    statement, _ = both("donor-trace", "pdf", f"&donor_id={donor_id}")
    assert statement.data.startswith(b"%PDF")
    one, api_one = both("donor-trace", "json", f"&donor_id={donor_id}")
    assert one.get_json() == api_one.get_json() and one.get_json()["donor_id"] == donor_id

    # Refused with the reason: a donor that does not exist, a report that does not.
    missing = client.get("/console/funds/1/reports/donor-trace.csv?donor_id=999")
    assert missing.status_code == 404 and "No donor with id 999." in missing.data.decode()
    unknown = client.get("/console/funds/1/reports/nothing.csv")
    assert unknown.status_code == 404 and "No report named" in unknown.data.decode()


def test_the_chain_is_checked_and_its_checkpoints_shown(runner, client, app, tmp_path):
    as_member(runner, client, "auditor")
    before = client.get("/console/audit").data.decode()
    assert "Valid: every event fits the chain." in before
    assert "No checkpoint signed yet." in before
    app.config["AUDIT_SIGNING_KEY_FILE"] = str(tmp_path / "audit-signing-key.pem")
    try:
        assert runner.invoke(args=["audit", "keygen"]).exit_code == 0
        signed = runner.invoke(args=["audit", "checkpoint"])
        assert signed.exit_code == 0, signed.output
    finally:
        app.config["AUDIT_SIGNING_KEY_FILE"] = None
    checkpoint_hash = re.search(r'"hash": "([0-9a-f]{64})"', signed.output)
    assert checkpoint_hash
    page = client.get("/console/audit").data.decode()
    assert "Valid: every event fits the chain." in page
    assert checkpoint_hash.group(1) in page and "on demand" in page
    assert "<code>audit.checkpoint_signed</code>" in page
    verified = client.get("/api/v1/audit-events/verify", headers=AUDITOR).get_json()
    assert f"seq {verified['head_seq']}" in page and verified["head_hash"] in page


def test_clerks_and_members_may_not_read_them(runner, client):
    as_member(runner, client, "clerk")
    pages = (
        "/console/funds",
        YEAR_END,
        "/console/funds/1/charts/sectors.svg",
        "/console/funds/1/reports/fund-position.pdf",
        "/console/audit",
    )
    for page in pages:
        assert client.get(page).status_code == 403, page
    assert 'href="/console/funds"' not in client.get("/console/").data.decode()
    assert sign_in(client, "member-un", "demo-member-un-password").status_code == 302
    for page in pages:
        assert client.get(page).status_code == 403, page
    # A treasurer reads the reports, not the audit events (as through the API).
    assert sign_in(client, "treasurer", "demo-treasurer-password").status_code == 302
    assert client.get("/console/funds/1/charts/sectors.svg?as_of=2021-12-31").status_code == 200
    assert client.get("/console/audit").status_code == 403
