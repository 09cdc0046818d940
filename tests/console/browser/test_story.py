"""The 2021 story, clicked through in a real Chromium, in English and in Arabic
(issue 24): members vote, a recused member is refused and sees why, the treasurer
pays once though the form is sent twice. Every check of money is made against the
API afterwards: the page saying so is not enough."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from babel.support import Translations

from tests.console.browser.conftest import screenshot

pytestmark = pytest.mark.real_commits

TRANSLATIONS = Path(__file__).resolve().parents[3] / "ledger" / "console" / "translations"
AUDITOR = {"Authorization": "Bearer demo-auditor-token"}


class Console:
    """One person at the console: signs in, goes to pages, fills in forms, in one
    language. ``said(msgid)`` is the interface text as that language shows it."""

    def __init__(self, context: Any, base: str, lang: str) -> None:
        self.page = context.new_page()
        self.base = base
        self.lang = lang
        self.catalogue = Translations.load(str(TRANSLATIONS), [lang])

    def said(self, message: str, **values: Any) -> str:
        return (
            self.catalogue.gettext(message) % values if values else self.catalogue.gettext(message)
        )

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def sign_in(self, name: str) -> None:
        page = self.go(f"/console/language/{self.lang}?next=/console/sign-in")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", f"demo-{name}-password")
        page.click("button[type=submit]")
        assert page.url.endswith("/console/"), page.url
        assert page.locator("html").get_attribute("dir") == ("rtl" if self.lang == "ar" else "ltr")

    def sign_out(self) -> None:
        page = self.go("/console/")
        page.locator("form[action$='/sign-out'] button").click()
        assert "/console/sign-in" in page.url

    def flash(self) -> str:
        return str(self.page.locator(".flash").first.inner_text())


@pytest.fixture(params=["en", "ar"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def api(client: Any, path: str) -> Any:
    answer = client.get(f"/api/v1{path}", headers=AUDITOR)
    assert answer.status_code == 200, answer.data
    return answer.get_json()


def test_the_2021_story_in_a_browser(app, client, offline_context, live_server, lang):
    assert app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"]).exit_code == 0
    you = Console(offline_context, live_server, lang)
    shots = lang == "en"

    # A clerk submits a request: rubble removal in North Gaza, to the clearance company.
    you.sign_in("clerk")
    page = you.go("/console/requests/new")
    page.select_option("select[name=fund_id]", "1")
    page.select_option("select[name=project_id]", "3")
    page.select_option("select[name=payee_id]", "3")
    page.fill("input[name=amount]", "400000.00")
    page.fill("input[name=currency]", "USD")
    page.fill("textarea[name=purpose]", "Second phase of rubble removal, Beit Lahia")
    if shots:
        screenshot(page, "new-request")
    page.click("form button[type=submit]")
    assert "/console/requests/" in page.url, you.flash()
    request_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert you.said("Spending request %(id)s is submitted to the committee.", id=request_id) in (
        you.flash()
    )
    assert api(client, f"/spending-requests/{request_id}")["status"] == "pending"
    you.sign_out()

    # A member who declared a conflict with this payee sees why they may not vote;
    # a vote forced past the page is refused, and kept as a refusal.
    you.sign_in("member-qatar")
    page = you.go(f"/console/requests/{request_id}")
    assert you.said(
        "You declared a conflict of interest with this payee (or a party behind it): "
        "you are recused from its requests."
    ) in page.inner_text("main")
    assert page.locator("form[action$='/vote']").count() == 0
    token = (
        you.go("/console/")
        .locator("form[action$='/sign-out'] input[name=csrf_token]")
        .get_attribute("value")
    )
    forced = page.request.post(
        f"{live_server}/console/requests/{request_id}/vote",
        form={"csrf_token": token or "", "decision": "approve", "comment": "Fine."},
    )
    assert forced.status == 403 and "recused" in forced.text()
    assert any(
        r["code"] == "conflict_of_interest" and r["spending_request_id"] == request_id
        for r in api(client, "/refusals?limit=100")["items"]
    )
    you.sign_out()

    # Three members approve it from their queues, each with a comment.
    for member in ("member-un", "member-eu", "member-egypt"):
        you.sign_in(member)
        page = you.go("/console/queue")
        if shots and member == "member-un":
            screenshot(page, "queue")
        page.locator(f"a[href='/console/requests/{request_id}']").click()
        if member == "member-eu":
            screenshot(page, "request" if shots else "request-ar")
        page.check("input[name=decision][value=approve]")
        page.fill("textarea[name=comment]", f"Approved by {member}: bill of quantities checked.")
        page.click("form[action$='/vote'] button[type=submit]")
        assert you.said("You have voted on this request.") in page.inner_text("main")
        you.sign_out()
    assert api(client, f"/spending-requests/{request_id}")["status"] == "approved"

    # The treasurer pays part of it; the same form reaches the server twice.
    you.sign_in("treasurer")
    page = you.go("/console/payments")
    if shots:
        screenshot(page, "payments")
    page.locator(f"a[href='/console/requests/{request_id}/pay']").click()
    page.fill("input[name=amount]", "150000.00")
    page.fill("input[name=reference]", "PAY-2021-0301")
    if shots:
        screenshot(page, "pay")
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r) if r.method == "POST" else None)
    page.click("form button[type=submit]")
    paid = api(client, f"/disbursements?spending_request_id={request_id}&limit=50")["items"]
    assert [p["reference"] for p in paid] == ["PAY-2021-0301"]
    made = paid[0]["id"]
    assert you.said("Payment %(id)s is made.", id=made) in you.flash()
    form = sent[0]
    again = page.request.post(form.url, headers=form.headers, data=form.post_data)
    assert you.said("Payment %(id)s was already made by this form.", id=made) in again.text()
    assert api(client, f"/disbursements?spending_request_id={request_id}&limit=50")["items"] == (
        paid
    )
    you.sign_out()

    # Compliance restricts the payee.
    you.sign_in("compliance-1")
    page = you.go("/console/payees/3")
    page.fill("textarea[name=reason]", "Signatory matches a designated person (case CV-2021-031).")
    page.click("form[action$='/restrict'] button[type=submit]")
    restrictions = api(client, "/payees/3/restrictions")["items"]
    assert [r["reason"] for r in restrictions if r["lifted_at"] is None] == [
        "Signatory matches a designated person (case CV-2021-031)."
    ]
    if shots:
        screenshot(you.go("/console/payees/3"), "payee")
    you.sign_out()

    # The next payment is refused; the refusal is shown, and kept with its evidence.
    you.sign_in("treasurer")
    page = you.go(f"/console/requests/{request_id}/pay")
    page.fill("input[name=amount]", "50000.00")
    page.fill("input[name=reference]", "PAY-2021-0302")
    page.click("form button[type=submit]")
    assert "North Gaza Rubble Clearance Ltd" in you.flash()
    assert len(api(client, f"/disbursements?spending_request_id={request_id}")["items"]) == 1
    page = you.go("/console/refusals")
    page.locator("tbody tr a[href^='/console/refusals/']").first.click()
    shown = page.inner_text("main")
    assert "CV-2021-031" in shown and "payee_restricted" in shown
    if shots:
        screenshot(page, "refusal")
    you.sign_out()

    # The auditor downloads the fund position, as PDF and as XLSX, as of a date.
    you.sign_in("auditor")
    page = you.go("/console/funds/1?as_of=2021-12-31")
    screenshot(page, "dashboard" if shots else "dashboard-ar")
    for fmt, magic in (("pdf", b"%PDF"), ("xlsx", b"PK")):
        with page.expect_download() as download:
            page.locator(f"a[href*='/reports/fund-position.{fmt}']").first.click()
        path = download.value.path()
        assert Path(path).read_bytes().startswith(magic), fmt
        assert download.value.suggested_filename.endswith(f".{fmt}")
    if shots:
        screenshot(you.go("/console/audit"), "audit")
    you.sign_out()
    assert offline_context.blocked == []
