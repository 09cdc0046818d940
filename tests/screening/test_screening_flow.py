"""Screening in the money path, with real entries from the shared lists (issue 4).

Lists are imported through the API as compliance would; payees are registered as
a clerk would; payment is refused for every spelling the matcher recognises."""

import io
import zipfile
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

WATCHLISTS = Path(__file__).resolve().parents[3] / "shared" / "data" / "watchlists"
GAZA_SDN = Path(__file__).resolve().parents[1] / "fixtures" / "ofac_gaza"
pytestmark = pytest.mark.skipif(not WATCHLISTS.exists(), reason="shared/ not beside the repo")


def upload(ledger, source, name, data, expect=201):
    # Encoded here, in memory: the test client would spool a large body to a
    # temporary file that it never closes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), filename=name)})
    return ledger.client.post(
        f"/api/v1/watchlists/{source}/versions",
        data=body,
        headers={"Authorization": f"Bearer {ledger.tokens['compliance']}"},
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def ofac_zip(folder, names):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name in names:
            z.write(folder / name, name)
    return buffer.getvalue()


@pytest.fixture
def lists(ledger):
    """The fund with cash, the OFAC consolidated list (NS-PLC: HANIYA, ZAHHAR...) and
    real SDN records (HAMAS, ABU MARZOOK: tests/fixtures/ofac_gaza) imported."""
    world = ledger.funded(received="1000000.00")
    response = upload(
        ledger,
        "ofac-consolidated",
        "cons.zip",
        ofac_zip(
            WATCHLISTS / "ofac_consolidated",
            ["cons_prim.csv", "cons_alt.csv", "cons_add.csv", "cons_comments.csv"],
        ),
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    response = upload(
        ledger,
        "ofac-sdn",
        "sdn.zip",
        ofac_zip(GAZA_SDN, ["sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"]),
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    return world


def register(ledger, name, **extra):
    body = {"name": name, "kind": extra.pop("kind", "individual"), "country": "PS", **extra}
    return ledger.call("POST", "/payees", "clerk", body, expect=201)


@pytest.mark.parametrize(
    "name",
    [
        "Ismail HANIYYA",  # another transliteration
        "Haniyeh, Ismail",  # reordered, another spelling
        "Mahmoud ZAHAR",
        "Mousa ABU MARZOOK",
    ],
)
def test_registering_a_listed_person_opens_a_case_that_blocks_payment(ledger, lists, name):
    payee = register(ledger, name)
    assert payee["payable"] is False
    assert payee["blocks"][0]["reason"] == "open_review_case"
    refused = ledger.request(
        lists["fund"]["id"], lists["project"]["id"], payee["id"], "100.00", expect=409
    )
    assert refused["code"] == "payee_restricted"
    cases = ledger.get(f"/review-cases?payee_id={payee['id']}", "compliance")["items"]
    assert cases and cases[0]["status"] == "open"
    assert cases[0]["evidence"]["list"] in ("ofac-consolidated", "ofac-sdn")
    assert float(cases[0]["score"]) >= 0.80


@pytest.mark.parametrize(
    "name",
    [
        "Harakat al-Muqawama al-Islamiya",  # a listed alias of HAMAS
        "Izz al-Din al-Qassam Brigades",  # another
        "Ezzedeen Al-Qassam Brigades",  # that alias, spelled another way
    ],
)
def test_payment_refused_for_an_organisation_registered_under_a_listed_alias(ledger, lists, name):
    payee = register(ledger, name, kind="organization")
    assert payee["payable"] is False
    case = ledger.get(f"/review-cases?payee_id={payee['id']}", "compliance")["items"][0]
    assert case["evidence"]["source_key"] == "ofac-sdn:4695"


def test_hamas_registered_in_arabic_script_is_caught(ledger, lists):
    payee = register(ledger, "حماس", kind="organization")
    assert payee["payable"] is False


def test_a_listed_director_blocks_the_company(ledger, lists):
    payee = register(
        ledger,
        "Al-Amal Company for Contracting",
        kind="organization",
        related_parties=[{"name": "Ismail Haniya", "kind": "person", "role": "director"}],
    )
    assert payee["payable"] is False
    case = ledger.get(f"/review-cases?payee_id={payee['id']}", "compliance")["items"][0]
    assert case["related_party_id"] == payee["related_parties"][0]["id"]


def test_an_unlisted_payee_is_payable_and_paid(ledger, lists):
    payee = register(ledger, "Khan Younis Water Works Est.", kind="organization")
    assert payee["payable"] is True
    request = ledger.request(lists["fund"]["id"], lists["project"]["id"], payee["id"], "100.00")
    ledger.approve(request["id"])
    paid = ledger.disburse(request["id"], "100.00")
    assert paid["screening"]["state"] == "clear"
    assert paid["screening"]["list_entries"] > 400


def test_confirming_a_case_restricts_and_clearing_lets_pay(ledger, lists):
    listed = register(ledger, "Ismail Haniyeh")
    case = ledger.get(f"/review-cases?payee_id={listed['id']}", "compliance")["items"][0]
    confirmed = ledger.call(
        "POST",
        f"/review-cases/{case['id']}/confirm",
        "compliance",
        {"reason": "Same person: name, birth year and place agree."},
    )
    assert confirmed["status"] == "confirmed"
    restriction = ledger.get(f"/restrictions/{confirmed['restriction_id']}")
    assert restriction["source"] == "watchlist"
    assert restriction["evidence"]["source_key"] == case["evidence"]["source_key"]

    namesake = register(ledger, "Mahmoud Zahar")  # no birth date: the name alone
    case = ledger.get(f"/review-cases?payee_id={namesake['id']}", "compliance")["items"][0]
    ledger.call(
        "POST",
        f"/review-cases/{case['id']}/clear",
        "compliance",
        {"reason": "Namesake: a 31-year-old teacher from Rafah, ID checked."},
    )
    assert ledger.get(f"/payees/{namesake['id']}")["payable"] is True
    # Cleared while the entry is unchanged: changing the payee does not reopen it.
    ledger.call("PATCH", f"/payees/{namesake['id']}", "clerk", {"aliases": ["Abu Khaled"]})
    assert ledger.get(f"/payees/{namesake['id']}")["payable"] is True


def test_a_hit_found_at_the_moment_of_payment_refuses_it_and_opens_its_case(ledger, lists):
    payee = register(ledger, "Gaza Shelter Repair Cooperative", kind="organization")
    request = ledger.request(lists["fund"]["id"], lists["project"]["id"], payee["id"], "100.00")
    ledger.approve(request["id"])
    # The payee's director joins the fund's own list after approval.
    fund_list = (
        b"id,kind,name,aliases,weak_aliases,original_script_name,birth_date,nationality,"
        b"identifiers,programme,listed_on,remarks\n"
        b"F-1,person,Khalil Abu Shaaban,,,,1970,PS,,FUND,2021-08-01,committee vetting\n"
    )
    response = upload(ledger, "fund", "fund.csv", fund_list)
    assert response.status_code == 202, response.get_data(as_text=True)
    ledger.related_party(payee["id"], "Khaleel Abu Sha'ban", role="director")
    refused = ledger.disburse(request["id"], "100.00", expect=409)
    assert refused["code"] == "payee_restricted"
    cases = ledger.get(f"/review-cases?payee_id={payee['id']}", "compliance")["items"]
    assert len(cases) == 1
    refusal = ledger.get("/refusals?code=payee_restricted")["items"][-1]
    assert refusal["evidence"]["blocks"][0]["reason"] == "open_review_case"


def test_check_a_name_before_registering(ledger, lists):
    result = ledger.call("POST", "/screening/check", "clerk", {"name": "Ismail Haniya"})
    assert result["candidates"][0]["would_open_case"] is True
    assert result["matcher_version"]
    assert ledger.get("/review-cases", "compliance")["items"] == []


def test_a_malformed_file_is_refused_naming_the_line_and_changes_nothing(ledger, lists):
    before = ledger.get("/watchlists", "compliance")
    broken = b"id,kind,name\nF-1,person\n"
    response = upload(ledger, "fund", "fund.csv", broken)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["code"] == "validation_error"
    assert "line" in problem["errors"]["file"][0]
    assert ledger.get("/watchlists", "compliance") == before


def test_a_new_un_list_rescreens_payees_and_delisting_opens_a_case(ledger):
    """2018 list, payees registered, then the 2026 list: cases for payees matching
    added entries, and a case, not a silent lift, for a restriction whose entry went."""
    old = (WATCHLISTS / "un_consolidated_2018-10-29.xml").read_bytes()
    new = (WATCHLISTS / "un_consolidated_2026-02-27.xml").read_bytes()
    first = upload(ledger, "un", "un-2018.xml", old)
    assert first.status_code == 202, first.get_data(as_text=True)
    added_later, removed_later = _diff_names(ledger, old, new)
    newcomer = register(ledger, added_later)
    assert newcomer["payable"] is True
    delisted = register(ledger, removed_later)
    case = ledger.get(f"/review-cases?payee_id={delisted['id']}", "compliance")["items"][0]
    confirmed = ledger.call(
        "POST", f"/review-cases/{case['id']}/confirm", "compliance", {"reason": "Listed person."}
    )

    second = upload(ledger, "un", "un-2026.xml", new)
    assert second.status_code == 202, second.get_data(as_text=True)
    result = second.get_json()
    assert result["version"]["number"] == 2
    assert result["version"]["added"] > 0 and result["version"]["removed"] > 0
    assert result["delisting_cases"] == 1
    # Every payee is screened again by a job (run at once, in the tests).
    assert second.headers["Location"] == f"/api/v1/jobs/{result['job_id']}"
    job = ledger.get(f"/jobs/{result['job_id']}", "compliance")
    assert (job["kind"], job["state"], job["attempts"]) == ("watchlist.rescreen", "done", 1)
    assert job["progress"]["payees_screened"] == 2
    assert ledger.get(f"/payees/{newcomer['id']}")["payable"] is False
    delisting = ledger.get(f"/review-cases?payee_id={delisted['id']}&kind=delisting", "compliance")[
        "items"
    ]
    assert len(delisting) == 1 and delisting[0]["status"] == "open"
    # The restriction stands until a second officer lifts it through the case.
    assert ledger.get(f"/restrictions/{confirmed['restriction_id']}")["active"] is True
    refused = ledger.call(
        "POST",
        f"/review-cases/{delisting[0]['id']}/clear",
        "compliance",
        {"reason": "Delisted by the UN."},
        expect=403,
    )
    assert refused["code"] == "separation_of_duties"
    ledger.call(
        "POST",
        f"/review-cases/{delisting[0]['id']}/clear",
        "compliance2",
        {"reason": "Delisted by the UN on the 2026 list; no other hit."},
    )
    assert ledger.get(f"/restrictions/{confirmed['restriction_id']}")["active"] is False


def _diff_names(ledger, old, new):
    """A person added by the 2026 list and one removed by it (real names)."""
    from ledger.screening.names import NameIndex
    from ledger.screening.sources import parse_un_xml

    before, after = parse_un_xml(old).by_key(), parse_un_xml(new).by_key()
    old_index = NameIndex(enumerate(before.values()))
    new_index = NameIndex(enumerate(after.values()))
    added = next(
        e
        for k, e in sorted(after.items())
        if k not in before and e.kind == "person" and not old_index.search([e.name])
    )
    removed = next(
        e
        for k, e in sorted(before.items())
        if k not in after and e.kind == "person" and not new_index.search([e.name])
    )
    return added.name, removed.name


def test_rescreen_after_import_finds_parties_behind_payees_once(ledger, monkeypatch):
    """The bulk re-screen after an import (searches shared out over worker
    processes here) finds a payee and the director behind a company, opens one
    case each, and a second import of the same names opens none again."""
    import ledger.screening.names as names

    monkeypatch.setattr(names, "_PARALLEL_MINIMUM", 1)  # the forked path, even for a few
    old = (WATCHLISTS / "un_consolidated_2018-10-29.xml").read_bytes()
    new = (WATCHLISTS / "un_consolidated_2026-02-27.xml").read_bytes()
    assert upload(ledger, "un", "un-2018.xml", old).status_code == 202
    added_later, _ = _diff_names(ledger, old, new)
    person = register(ledger, added_later)
    company = register(
        ledger,
        "Al-Fajr Building Materials Co.",
        kind="organization",
        related_parties=[{"name": added_later, "kind": "person", "role": "owner"}],
    )
    bystander = register(ledger, "Huda Samir Al-Agha")
    assert person["payable"] and company["payable"] and bystander["payable"]

    second = upload(ledger, "un", "un-2026.xml", new)
    assert second.status_code == 202, second.get_data(as_text=True)
    job = ledger.get(f"/jobs/{second.get_json()['job_id']}", "compliance")
    assert job["state"] == "done" and job["progress"]["cases_opened"] >= 2
    cases = ledger.get(f"/review-cases?payee_id={company['id']}", "compliance")["items"]
    assert [c["related_party_id"] for c in cases] == [company["related_parties"][0]["id"]]
    assert cases[0]["evidence"]["list"] == "un"
    assert ledger.get(f"/payees/{person['id']}")["payable"] is False
    assert ledger.get(f"/payees/{company['id']}")["payable"] is False
    assert ledger.get(f"/payees/{bystander['id']}")["payable"] is True

    # The same hits are covered by their cases: re-screening again opens nothing.
    with ledger.app.app_context():
        from ledger.db import db
        from ledger.screening.services import rescreen_all

        with db.transaction() as session:
            again = rescreen_all(session, None, "test: again")
    assert again["cases_opened"] == 0
    assert again["payees_screened"] == 3


def test_a_batch_of_listed_names_loads_the_entries_of_its_cases_once(
    ledger, lists, app, monkeypatch
):
    """Each case's evidence quotes its list entry and version: loaded for all the
    cases at once, not a query per case (a batch of 100,000 opens thousands)."""
    import gc
    import re

    from ledger.screening import services
    from tests.batches.world import csv_file, submit
    from tests.factories import statements

    # A large batch runs the garbage collector often: one runs before each case's
    # evidence here, so that entries nothing holds are gone from the session.
    evidence = services.Hit.evidence

    def after_a_collection(hit, *args):
        gc.collect()
        return evidence(hit, *args)

    monkeypatch.setattr(services.Hit, "evidence", after_a_collection)

    world = {**lists, "programme": ledger.payee("WFP cash-assistance programme, Gaza 2021")}
    listed = ["Ismail HANIYYA", "Haniyeh Ismail", "Mahmoud ZAHAR", "Mousa ABU MARZOOK"]
    lines = [
        f"{name},{420000000 + i},,PS-WALLET-{i},100.00,USD,QA-LISTED-{i}"
        for i, name in enumerate(listed * 3)
    ]
    lines += [
        f"Household Member {i:03d},{430000000 + i},,W-{i},100.00,USD,QA-{i}" for i in range(5)
    ]
    with statements(app) as seen:
        batch = submit(ledger, world, csv_file(lines))
    assert batch["progress"]["rows"]["held"] == 12
    cases = ledger.get("/review-cases?status=open&limit=100", "compliance")["items"]
    assert len(cases) >= 12
    assert all(c["evidence"]["list_version"] and c["evidence"]["source_key"] for c in cases)
    # Read by their ids, all together; never one by one (``session.get``'s query).
    for table in ("watchlist_entries", "watchlist_versions"):
        by_id = re.compile(rf"WHERE {table}\.id = (\?|%\(pk_1\)s)")
        one_by_one = [s for s in seen if by_id.search(s)]
        assert one_by_one == [], (table, len(one_by_one))
