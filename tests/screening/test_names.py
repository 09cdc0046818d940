"""The name matcher, the entry scorer and the candidate index, on real list entries."""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import ledger.screening
from ledger.screening import SCORING_COMPILED, load_scoring_source, scoring
from ledger.screening.names import (
    REVIEW_THRESHOLD,
    WEAK_ALIAS_FACTOR,
    NameIndex,
    Query,
    normalize_name,
    score_entry,
    score_names,
)
from ledger.screening.sources import Alias, ListEntry, parse_ofac_csv, parse_un_xml

SHARED = Path(
    os.environ.get("LEDGER_SHARED_DATA")
    or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)
WATCHLISTS = SHARED / "watchlists"

needs_lists = pytest.mark.skipif(not WATCHLISTS.is_dir(), reason="shared watchlists not present")


def ofac_files(folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (WATCHLISTS / folder).iterdir() if p.suffix == ".csv"}


@pytest.fixture(scope="module")
def entries() -> list[ListEntry]:
    """UN 2026 + OFAC SDN 2019 + OFAC consolidated, parsed once for the module."""
    return [
        *parse_un_xml((WATCHLISTS / "un_consolidated_2026-02-27.xml").read_bytes()).entries,
        *parse_ofac_csv(ofac_files("ofac_sdn_2019")).entries,
        *parse_ofac_csv(ofac_files("ofac_consolidated"), consolidated=True).entries,
    ]


@pytest.fixture(scope="module")
def index(entries: list[ListEntry]) -> NameIndex:
    """The candidate index over the full lists, keyed by position."""
    return NameIndex(enumerate(entries))


def found_keys(index: NameIndex, name: str) -> list[str]:
    return [hit.entry.source_key for hit in index.search([name], threshold=REVIEW_THRESHOLD)]


# ---------------------------------------------------------------- the names


@needs_lists
@pytest.mark.parametrize(
    ("query", "source_key"),
    [
        ("HANIYYA, Ismaeel", "ofac-cons:9639"),  # a listed alias
        ("Ismail Haniyeh", "ofac-cons:9639"),  # another transliteration
        ("Ismail Haniya", "ofac-sdn:23627"),
        ("إسماعيل هنية", "ofac-cons:9639"),  # original Arabic script
        ("Haniyya Ismail", "ofac-sdn:23627"),  # reordered parts
        ("Mahmoud Zahar", "ofac-cons:9647"),
        ("Mahmoud al-Zahhar", "ofac-cons:9647"),
        ("محمود الزهار", "ofac-cons:9647"),
        ("Zahar Mahmoud Khaled", "ofac-cons:9647"),
        ("Mousa Abu Marzook", "ofac-sdn:3754"),
        ("Musa Abu Marzouq", "ofac-sdn:3754"),
        ("موسى أبو مرزوق", "ofac-sdn:3754"),
        ("Marzook Mousa Abu", "ofac-sdn:3754"),
        ("Hamas", "ofac-sdn:4695"),
        ("حماس", "ofac-sdn:4695"),
        ("Harakat al-Muqawama al-Islamiyya", "ofac-sdn:4695"),
    ],
)
def test_listed_party_is_found_whatever_the_spelling(
    index: NameIndex, query: str, source_key: str
) -> None:
    assert source_key in found_keys(index, query)


@needs_lists
def test_un_entry_is_found_by_its_original_script_name(
    index: NameIndex, entries: list[ListEntry]
) -> None:
    saddam = next(e for e in entries if e.source_key == "un:6908048")
    assert "un:6908048" in found_keys(index, saddam.original_script_names[0])
    assert "un:6908048" in found_keys(index, "Saddam Hussein Tikriti")


@needs_lists
def test_candidates_are_tens_not_thousands(index: NameIndex) -> None:
    assert index.name_count > 20_000
    assert 0 < len(index.candidates("Mohammed Ahmad Abu Shaaban")) <= 60
    assert len(index.candidates("Ismail Haniyeh")) <= 60


@needs_lists
@pytest.mark.parametrize(
    "name",
    [
        # KHALALU, Ahmad lies almost wholly inside it, as the father's and
        # grandfather's names (matcher 1.2 held it; 1.3 reads the nasab).
        "Mohammed Ahmad Khalil Abu Shaaban",
        "Fatima Mohammed Hejazi",  # daughter of a Mohammed Hejazi, not MOHAMMAD HEJAZI
        "Abeer Mohammed Hassan Radwan",  # her father's and grandfather's names: Mohamed Hassan
        "Khaled Kamal Mohammed Al-Shawwa",  # KAMEL, Mohamed
        "Ali Youssef Mohammed Abu Ramadan",  # Ali Mohammed
        "Mohammed Ahmad Abu Shaaban",
        "Huda Samir Al-Agha",
        "Al-Amal Company for Contracting",
        "Khan Younis Water Works Est.",
        "Shurrab & Sons for Building Materials",
    ],
)
def test_unlisted_gaza_payees_do_not_reach_review(index: NameIndex, name: str) -> None:
    assert found_keys(index, name) == []


# ---------------------------------------------------------------- score_names


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("HANIYA, Ismail", "HANIYYA, Ismaeel"),
        ("Haniyeh", "هنية"),
        ("ZAHHAR, Mahmoud", "Mahmoud al-Zahar"),
        ("Abdul Rahman Hamad", "Abd al-Rahman Hamad"),
        ("عبد الرحمن", "Abdelrahman"),
        ("Al-Amal Company for Contracting", "Al Amal Contracting Co."),
        ("Khan Younis Water Works Est.", "Khan Yunis Water Works Establishment"),
        ("M. Abu Shaaban", "Mohammed Abu Sha'ban"),
        ("Shurrab, Khaled Ahmad", "Khaled Ahmad Shurrab"),
        ("Владимир Путин", "Vladimir Putin"),
        ("HIDAYATULLAH", "هدايت الله"),
        ("GADDAFI, Mutassim", "AL-QADHAFI, Mutassim"),  # g / q, dd / dh
        ("TAHA YASSIN RAMADAN", "طه ياسين رمضان"),  # ض as d
        ("AHMAD ZIA AGHA", "احمد ضیا آغا"),  # ض as z (Persian)
        ("Rashid Taan Kathim", "رشيد طعان كاظم"),  # ظ as th
        ("Александр Петров", "Alexander Petrov"),  # x = ks
        ("WEI, Hsueh Kang", "WEI, Xuekang"),  # Wade-Giles / pinyin
        ("CHANG, Chi Fu", "CHANG, Shi-Fu"),
        ("משה", "Moshe"),  # Hebrew, read letter by letter like Arabic
        ("דוד", "David"),
        ("김정은", "Kim Jong Un"),  # Hangul with a surname table
        ("RAHAT LTD.", "راحت لمتد"),  # Ltd in Arabic letters
        ("KOREA SAMMA SHPG CO", "KOREA SAMMA SHIPPING CO"),
        ("RAHMAN, Inayat ur", "UR-RAHMAN, Anayat"),
        ("SEIFALLAH BEN OMAR BEN HASSINE", "سيف الله بن عمر بنحسين"),  # glued bin
        ("ANSAR AL CHARIA BENGHAZI", "أنصار الشريعة - بنغازي"),  # ... but not in Benghazi
        ("Mohamed Abu Middain", "Muhammad Abu Mdein"),  # the diphthong ai = ei
        # A short listed name inside a payee's full nasab, given and family names in place.
        ("HANIYA, Ismail", "Ismail Abdel Salam Ahmed Haniyeh"),
        ("ZAHAR, Mahmoud", "Mahmoud Khaled Ahmad Al-Zahar"),
        # The father's name used as a surname (Saddam Hussein), or no family name.
        ("AL-TIKRITI, Uday Saddam Hussein", "HUSSEIN, Udai Saddam"),
        ("OUMAR YOUNOUS ABDOULAY", "Omar Younous"),
    ],
)
def test_same_name_written_differently_reaches_review(a: str, b: str) -> None:
    assert score_names(a, b) >= REVIEW_THRESHOLD


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mohammed Ahmad Shurrab", "Mohammed Ahmad Al-Masri"),  # common given names only
        ("Abu Ali", "Ali Abu Shaaban"),  # father of Ali is not Ali
        ("Ismail Haniyeh", "Ismail Abu Shaaban"),
        ("Al-Aqsa Company for Contracting", "AL-AQSA FOUNDATION"),
        ("Mahmoud Zahhar", "AZHAR, Masud"),
        ("Kamal Mohannad Raed Abu Holi", "KAMEL, Mohamed"),  # Mohannad is not Mohamed
        ("YOUSEF", "Suha Youssef Ashour"),  # one common word inside a long name
        ("Huda", "هادي"),  # same consonants, the long vowels Arabic writes differ
        ("Raed Abu Mouailek", "Raed M. Hijazi"),  # M. is no initial of Abu Mouailek
        ("Khaled Ashour", "Khaled A. Al-Fauwaz"),  # an initial says one letter
        ("Osama Abu Sharekh", "M/S OSAMA KHAIRY HAFEZ TRADING EST."),  # M/S is a title
        ("Al-Rahma Company for Glass", "RAHMAH CHARITABLE ORGANIZATION"),  # a charity
        ("Mohammed Ahmad Khalil Abu Shaaban", "Muhammad Ahmed Khaliq"),  # common parts
        ("Wisam Tareq Al-Kurd", "EL AISSAMI, Tareck"),  # w is no initial vowel
    ],
)
def test_different_parties_sharing_name_parts_stay_below_review(a: str, b: str) -> None:
    assert score_names(a, b) < REVIEW_THRESHOLD


def test_score_names_is_symmetric_bounded_and_deterministic() -> None:
    names = ["Ismail Haniyeh", "HANIYA, Ismail Abdul Salah", "هنية", "Hamas", "", "Co.", "A B C"]
    for a in names:
        for b in names:
            score = score_names(a, b)
            assert 0.0 <= score <= 1.0
            assert score == score_names(b, a) == score_names(a, b)
    assert score_names("Hamas", "HAMAS") == 1.0
    assert score_names("", "Hamas") == 0.0


# Four-part Gaza names as registries write them (given, father's, grandfather's,
# family), the names a cash batch carries by the hundred thousand.
GIVEN = ["Mohammed", "Ahmad", "Khaled", "Fatima", "Huda", "Ismail", "Youssef", "Ali", "Hamza"]
FAMILY = ["Abu Shaaban", "Al-Masri", "Hejazi", "Radwan", "Al-Shawwa", "Abu Ramadan", "Zahar"]
HOUSEHOLDS = [
    " ".join(parts)
    for parts in itertools.islice(itertools.product(GIVEN, GIVEN, GIVEN, FAMILY), 0, None, 7)
]


@needs_lists
def test_a_floor_changes_no_score_that_reaches_it(index: NameIndex) -> None:
    """``score_names(a, b, floor=f)`` skips the alignment of pairs whose parts
    cannot reach ``f``: every pair decides ``>= f`` as without the floor, and every
    score at or above it is the same score (household names against the list names
    the index retrieves for them, at the floors `NameIndex.search` uses)."""
    reach = REVIEW_THRESHOLD - 0.07
    floors = [reach, reach / WEAK_ALIAS_FACTOR, REVIEW_THRESHOLD, 0.5]
    pairs = [
        (name, index._names[i].name.original)
        for name in HOUSEHOLDS
        for i in index._candidate_names(name)
    ]
    pairs += [(a, b) for a in HOUSEHOLDS[:20] for b in ("Mahmoud Zahar", "Ismail Haniyeh")]
    assert len(pairs) > 5000
    skipped = 0
    for a, b in pairs:
        exact = score_names(a, b)
        for floor in floors:
            quick = score_names(a, b, floor=floor)
            assert (quick >= floor) == (exact >= floor), (a, b, floor)
            if exact >= floor:
                assert quick == exact, (a, b, floor)
            skipped += quick != exact
    assert skipped > len(pairs)  # most pairs of a search are never aligned in full


@needs_lists
def test_candidates_are_the_same_from_many_threads(index: NameIndex) -> None:
    """Each thread counts its votes in an array of its own."""
    alone = [index.candidates(name) for name in HOUSEHOLDS]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(index.candidates, HOUSEHOLDS))
    assert together == alone


# ---------------------------------------------------------------- compiled scoring

# Heads of household written in Arabic script, for the skeleton comparisons.
ARABIC_HOUSEHOLDS = [
    "محمد أحمد خالد أبو شعبان",
    "فاطمة محمد حسن رضوان",
    "إسماعيل عبد السلام أحمد هنية",
    "يوسف علي حمزة الشوا",
    "هدى خالد محمود الزهار",
]


@pytest.fixture
def source_scoring() -> Iterator[Any]:
    """scoring.py run as Python, beside the module in use (compiled when built)."""
    if not SCORING_COMPILED:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("ledger/screening/scoring.py is not compiled (the install builds it)")
        pytest.skip("scoring.py is not compiled here: nothing to hold to its source")
    yield load_scoring_source("ledger_scoring_source")
    del sys.modules["ledger_scoring_source"]


@needs_lists
def test_the_compiled_scoring_answers_as_its_source(index: NameIndex, source_scoring: Any) -> None:
    """Every score, at every floor a search uses and without one, and every entry a
    search keeps, are the same from the compiled module and from its source."""
    assert not str(scoring.__file__).endswith(".py")
    reach = REVIEW_THRESHOLD - 0.07
    floors = [0.0, reach, reach / WEAK_ALIAS_FACTOR, REVIEW_THRESHOLD]
    compared = 0
    for query_name in HOUSEHOLDS + ARABIC_HOUSEHOLDS + ["Ismail Haniyeh", "HAMAS", "M. Zahar"]:
        query = normalize_name(query_name)
        candidates = [index._names[i] for i in index._candidate_names(query_name)]
        for candidate in candidates:
            for floor in floors:
                expected = source_scoring.score_normalized(query, candidate.name, floor)
                assert scoring.score_normalized(query, candidate.name, floor) == expected, (
                    query_name,
                    candidate.name.original,
                    floor,
                )
                compared += 1
        near: set[int] = set()
        source_near: set[int] = set()
        scoring.add_near(query, candidates, reach, near)
        source_scoring.add_near(query, candidates, reach, source_near)
        assert near == source_near, query_name
    assert compared > 20_000


def test_a_stale_compiled_scoring_is_not_used(
    source_scoring: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compiled module built from another scoring.py than the one there now (edited
    since the last install) is left alone: the source runs, and a warning says so."""
    stale = tmp_path / "scoring.sha256"
    stale.write_text("0" * 64 + "\n")
    monkeypatch.setattr(ledger.screening, "BUILT_FROM", stale)
    monkeypatch.delitem(sys.modules, "ledger.screening.scoring")  # restored afterwards
    with pytest.warns(RuntimeWarning, match="not compiled from scoring.py as it is now"):
        assert ledger.screening._choose_scoring() is False
    assert sys.modules["ledger.screening.scoring"].__file__.endswith("scoring.py")


# ---------------------------------------------------------------- score_entry


HANIYA = ListEntry(
    "ofac-cons:9639",
    "person",
    "HANIYA, Ismail Abdul Salah",
    aliases=(Alias("HANIYYA, Ismaeel"), Alias("Abu al-Abd", "weak")),
    birth_dates=("1962",),
    nationalities=("PS",),
    identifiers=("PS 123-456",),
)


def test_score_entry_reports_which_names_matched() -> None:
    match = score_entry(["Acme Trading", "Ismaeel Haniyya"], HANIYA)
    assert match.query_name == "Ismaeel Haniyya"
    assert match.entry_name == "HANIYYA, Ismaeel"
    assert match.entry_name_kind == "alias"
    assert match.score >= REVIEW_THRESHOLD


def test_weak_alias_counts_less() -> None:
    match = score_entry(["Abu al-Abd"], HANIYA)
    assert match.entry_name_kind == "weak_alias"
    assert match.name_score == 1.0
    assert match.score < 1.0
    assert any("weak alias" in a for a in match.adjustments)


def test_birth_date_contradiction_lowers_and_agreement_keeps() -> None:
    base = score_entry(["Ismail Haniya"], HANIYA).score
    assert score_entry(["Ismail Haniya"], HANIYA, birth_date="1962-05-01").score >= base
    contradicted = score_entry(["Ismail Haniya"], HANIYA, birth_date="1990-01-01")
    assert contradicted.birth_date_match is False
    assert contradicted.score < base


def test_identifier_match_is_strong_evidence() -> None:
    match = score_entry(["Someone Else Entirely"], HANIYA, identifiers=["PS123456"])
    assert match.identifier_match
    assert match.score >= 0.95


def test_nationality_is_weak_evidence() -> None:
    base = score_entry(["Ismail Haniya"], HANIYA).score
    assert score_entry(["Ismail Haniya"], HANIYA, nationality="ps").score > base - 0.001
    assert score_entry(["Ismail Haniya"], HANIYA, nationality="US").score < base


def test_index_finds_by_identifier_and_respects_threshold() -> None:
    index = NameIndex([(7, HANIYA)])
    hits = index.search(["Nobody"], identifiers=["ps-123456"])
    assert [h.entry_id for h in hits] == [7]
    assert index.search(["Ismail Haniyeh"], threshold=1.01) == []
    with pytest.raises(ValueError, match="already indexed"):
        index.add(7, HANIYA)


@needs_lists
def test_search_many_over_processes_answers_as_search_does(
    index: NameIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forked workers read the same index: every query gets exactly `search`'s hits."""
    import ledger.screening.names as names

    monkeypatch.setattr(names, "_PARALLEL_MINIMUM", 1)
    queries = [
        Query(("Ismail Haniyeh",)),
        Query(("Mohammed Ahmad Abu Shaaban",), nationality="PS"),
        Query(("محمود الزهار",), birth_date="1945"),
        Query(("Huda Samir Al-Agha", "Huda Al-Agha")),
        Query(("Hamas",), identifiers=("nothing-listed",)),
    ] * 40
    together = index.search_many(queries, workers=2)
    one_by_one = [
        index.search(
            q.names, birth_date=q.birth_date, nationality=q.nationality, identifiers=q.identifiers
        )
        for q in queries
    ]
    assert [[(h.entry_id, h.match) for h in x] for x in together] == [
        [(h.entry_id, h.match) for h in x] for x in one_by_one
    ]
    assert any(together) and not all(together)


def _die(job: object) -> object:
    """A worker's job that kills its process (pickled by name, so module level)."""
    os._exit(9)


@needs_lists
def test_search_many_screens_in_process_when_a_worker_dies(
    index: NameIndex, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker killed mid-batch (out of memory, say) leaves no name unscreened."""
    import ledger.screening.names as names

    monkeypatch.setattr(names, "_PARALLEL_MINIMUM", 1)
    monkeypatch.setattr(names, "_search_chunk", _die)
    queries = [Query(("Ismail Haniyeh",)), Query(("Huda Samir Al-Agha",))] * 50
    together = index.search_many(queries, workers=2)
    assert [[h.entry_id for h in x] for x in together] == [
        [h.entry_id for h in index.search(q.names)] for q in queries
    ]
    assert "worker process died" in caplog.text


@needs_lists
def test_search_many_leaves_the_collector_as_it_found_it(
    index: NameIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It freezes the heap the workers share while they run; a process that had not
    frozen anything is thawed afterwards, one that had (wsgi.py) stays frozen."""
    import gc

    import ledger.screening.names as names
    from ledger.ops.collector import freeze_long_lived

    monkeypatch.setattr(names, "_PARALLEL_MINIMUM", 1)
    queries = [Query(("Ismail Haniyeh",)), Query(("Huda Samir Al-Agha",))] * 50
    assert gc.get_freeze_count() == 0
    index.search_many(queries, workers=2)
    assert gc.get_freeze_count() == 0
    try:
        frozen = freeze_long_lived()
        index.search_many(queries, workers=2)
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
