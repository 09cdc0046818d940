"""The console in English and Arabic (issue 24, item 7): interface text through
Flask-Babel, the language chosen in the console or by the browser, Arabic laid out
right to left, and every message of the console translated, the compiled catalogue
the one its source gives."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.console.test_committee_pages import as_member

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "ledger" / "console" / "translations"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "N_": None, "ngettext": (1, 2)}


def test_a_member_reads_the_request_in_arabic_right_to_left(runner, client):
    as_member(runner, client, "member-un")
    english = client.get("/console/requests/4").data.decode()
    assert '<html lang="en" dir="ltr">' in english
    assert "Cast my vote" in english
    chosen = client.get("/console/language/ar?next=/console/requests/4")
    assert chosen.status_code == 302
    assert chosen.headers["Location"].endswith("/console/requests/4")
    arabic = client.get("/console/requests/4").data.decode()
    assert '<html lang="ar" dir="rtl">' in arabic
    for shown in ("أدلِ بصوتي", "طلب الصرف 4", "المستفيد", "عضو لجنة"):
        assert shown in arabic, shown
    # Names are data: shown as written, isolated from the text around them.
    assert "<bdi>Deir al-Balah Health Services Cooperative</bdi>" in arabic
    back = client.get("/console/language/en?next=https://elsewhere.example/")
    assert back.headers["Location"].endswith("/console/")  # never off the console


def test_the_browser_language_is_taken_until_one_is_chosen(client):
    page = client.get("/console/sign-in", headers={"Accept-Language": "ar,en;q=0.5"})
    assert 'dir="rtl"' in page.data.decode() and "تسجيل الدخول" in page.data.decode()
    page = client.get("/console/sign-in", headers={"Accept-Language": "fr,en;q=0.5"})
    assert 'dir="ltr"' in page.data.decode()
    assert client.get("/console/language/xx").status_code == 404


def test_the_language_outlives_signing_in(runner, client):
    client.get("/console/language/ar")
    as_member(runner, client, "member-un")
    assert 'dir="rtl"' in client.get("/console/queue").data.decode()


def test_every_console_message_is_translated_and_compiled():
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT),
            method_map=[
                ("ledger/console/**.py", "python"),
                ("ledger/console/templates/**.html", "jinja2"),
            ],
            keywords=KEYWORDS,
        )
    }
    assert len(found) > 100
    with open(TRANSLATIONS / "ar" / "LC_MESSAGES" / "messages.po", "rb") as f:
        source = read_po(f)
    untranslated = sorted(
        m for m in found if not source.get(m) or not source[m].string or source[m].fuzzy
    )
    assert not untranslated, "run `make translations` and translate:\n" + "\n".join(untranslated)
    with open(TRANSLATIONS / "ar" / "LC_MESSAGES" / "messages.mo", "rb") as f:
        compiled = read_mo(f)
    stale = sorted(m.id for m in source if m.id and compiled.get(m.id) is None)
    stale += sorted(
        m.id for m in source if m.id and compiled.get(m.id) and compiled[m.id].string != m.string
    )
    assert not stale, "run `make translations` (the .mo is older than the .po)"
