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


def test_the_2021_story_in_a_browser(app, client, offline_context, live_server, lang):
    assert app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"]).exit_code == 0
    you = Console(offline_context, live_server, lang)
    shots = lang == "en"

    # A recused member opens a request of the payee they declared a conflict with.
    you.sign_in("member-qatar")
    page = you.go("/console/requests/5")
    assert you.said(
        "You declared a conflict of interest with this payee (or a party behind it): "
        "you are recused from its requests."
    ) in page.inner_text("main")
    assert page.locator("form[action$='/vote']").count() == 0  # no vote offered
    you.sign_out()

    # Members approve the clinics' request (4) from their queue, each with a comment.
    for member in ("member-un", "member-eu"):
        you.sign_in(member)
        page = you.go("/console/queue")
        page.locator("a[href='/console/requests/4']").click()
        if shots and member == "member-un":
            screenshot(page, "request")
        page.check("input[name=decision][value=approve]")
        page.fill("textarea[name=comment]", f"Approved by {member}: equipment list checked.")
        page.click("form[action$='/vote'] button[type=submit]")
        assert you.said("You have voted on this request.") in page.inner_text("main")
        you.sign_out()
    request_4 = client.get("/api/v1/spending-requests/4", headers=AUDITOR).get_json()
    assert request_4["status"] == "approved"

    # The treasurer pays part of it; the same form reaches the server twice.
    you.sign_in("treasurer")
    page = you.go("/console/payments")
    if shots:
        screenshot(page, "payments")
    page.locator("a[href='/console/requests/4/pay']").click()
    page.fill("input[name=amount]", "250000.00")
    page.fill("input[name=reference]", "PAY-2021-0101")
    sent: list[Any] = []
    page.on("request", lambda r: sent.append(r) if r.method == "POST" else None)
    page.click("form button[type=submit]")
    paid = client.get(
        "/api/v1/disbursements?spending_request_id=4&limit=50", headers=AUDITOR
    ).get_json()["items"]
    assert [p["reference"] for p in paid] == ["PAY-2021-0101"]
    made = paid[0]["id"]
    assert you.said("Payment %(id)s is made.", id=made) in you.flash()
    form = sent[0]
    again = page.request.post(form.url, headers=form.headers, data=form.post_data)
    assert you.said("Payment %(id)s was already made by this form.", id=made) in again.text()
    again_paid = client.get(
        "/api/v1/disbursements?spending_request_id=4&limit=50", headers=AUDITOR
    ).get_json()["items"]
    assert again_paid == paid
    you.sign_out()
    assert offline_context.blocked == []
