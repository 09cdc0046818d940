"""Watchlist parsers, on the real published files in ``../shared/data/watchlists``."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from ledger.screening.sources import (
    Alias,
    ListEntry,
    ParsedList,
    WatchlistFormatError,
    parse_fund_csv,
    parse_ofac_csv,
    parse_ofac_zip,
    parse_un_xml,
)

SHARED = Path(
    os.environ.get("LEDGER_SHARED_DATA")
    or Path(__file__).resolve().parents[2].parent / "shared" / "data"
)
WATCHLISTS = SHARED / "watchlists"
UN_2026 = WATCHLISTS / "un_consolidated_2026-02-27.xml"
UN_2018 = WATCHLISTS / "un_consolidated_2018-10-29.xml"

pytestmark = pytest.mark.skipif(not WATCHLISTS.is_dir(), reason="shared watchlists not present")


def ofac_files(folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (WATCHLISTS / folder).iterdir() if p.suffix == ".csv"}


@pytest.fixture(scope="module")
def un_2026() -> ParsedList:
    """The UN list of 2026-02-27, parsed once for the module."""
    return parse_un_xml(UN_2026.read_bytes())


@pytest.fixture(scope="module")
def un_2018() -> ParsedList:
    """The UN list of 2018-10-29, parsed once for the module."""
    return parse_un_xml(UN_2018.read_bytes())


@pytest.fixture(scope="module")
def sdn_2019() -> ParsedList:
    """The OFAC SDN legacy CSV set of 2019, parsed once for the module."""
    return parse_ofac_csv(ofac_files("ofac_sdn_2019"))


@pytest.fixture(scope="module")
def consolidated() -> ParsedList:
    """OFAC's consolidated (non-SDN) list, parsed once for the module."""
    return parse_ofac_csv(ofac_files("ofac_consolidated"), consolidated=True)


# ---------------------------------------------------------------- UN XML


def test_un_2026_parses_every_individual_and_entity(un_2026: ParsedList) -> None:
    kinds = [e.kind for e in un_2026.entries]
    assert kinds.count("person") == 730
    assert kinds.count("organization") == 273
    assert un_2026.published_at == "2026-02-27T00:00:09.554Z"
    assert sum(len(e.original_script_names) for e in un_2026.entries) == 378


def test_un_entry_has_original_script_weak_alias_birth_date_and_nationality(
    un_2026: ParsedList,
) -> None:
    saddam = un_2026.by_key()["un:6908048"]
    assert saddam.name == "SADDAM HUSSEIN AL-TIKRITI"
    assert saddam.original_script_names == ("صدام حسين التكريتي",)
    assert saddam.aliases == (Alias("Abu Ali", "weak"),)  # quality Low
    assert saddam.birth_dates == ("1937-04-28",)
    assert saddam.nationalities == ("IQ",)
    assert saddam.programmes == ("Iraq",)
    assert saddam.listed_on == "2003-06-27"


def test_un_text_fields_lose_stray_spaces(un_2026: ParsedList) -> None:
    for entry in un_2026.entries:
        for text in (entry.name, *(a.name for a in entry.aliases), *entry.programmes):
            assert text == text.strip() and "  " not in text


def test_un_2018_parses_and_the_update_adds_and_removes_entries(
    un_2018: ParsedList, un_2026: ParsedList
) -> None:
    old, new = un_2018.by_key(), un_2026.by_key()
    assert len(old) == 1093
    # Keyed by DATAID, the UN's stable id for an entry.
    assert len(new.keys() - old.keys()) == 112
    assert len(old.keys() - new.keys()) == 202
    assert new["un:6908048"].reference == "IQi.001"
    changed = [k for k in new.keys() & old.keys() if new[k].fingerprint() != old[k].fingerprint()]
    assert changed  # content changes are visible through the fingerprint


def test_un_truncated_file_is_refused_naming_the_line() -> None:
    data = UN_2026.read_bytes()
    with pytest.raises(WatchlistFormatError, match=r"line \d+"):
        parse_un_xml(data[: len(data) // 2])


def test_un_entry_without_id_is_refused_naming_the_element() -> None:
    data = UN_2026.read_bytes().replace(b"<DATAID>6908048</DATAID>", b"<DATAID>x</DATAID>", 1)
    with pytest.raises(WatchlistFormatError, match=r"line \d+: <INDIVIDUAL> has no numeric"):
        parse_un_xml(data)


def test_un_entity_declarations_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaa">]>'
        b"<CONSOLIDATED_LIST><INDIVIDUALS/></CONSOLIDATED_LIST>"
    )
    with pytest.raises(WatchlistFormatError):
        parse_un_xml(bomb)


def test_un_wrong_root_is_refused() -> None:
    with pytest.raises(WatchlistFormatError, match="CONSOLIDATED_LIST"):
        parse_un_xml(b"<html><body/></html>")


# ---------------------------------------------------------------- OFAC CSV


def test_sdn_2019_parses_with_hamas(sdn_2019: ParsedList) -> None:
    assert len(sdn_2019.entries) == 7379
    hamas = sdn_2019.by_key()["ofac-sdn:4695"]
    assert hamas.name == "HAMAS"
    assert hamas.kind == "organization"
    assert hamas.programmes == ("FTO", "SDGT", "SDT")  # from "SDGT] [SDT"-style fields
    assert Alias("ISLAMIC RESISTANCE MOVEMENT", "strong") in hamas.aliases
    assert Alias("HARAKAT AL-MUQAWAMA AL-ISLAMIYA", "strong") in hamas.aliases


def test_sdn_remarks_give_birth_date_and_identifiers(sdn_2019: ParsedList) -> None:
    marzook = sdn_2019.by_key()["ofac-sdn:3754"]
    assert marzook.name == "ABU MARZOOK, Mousa Mohammed"
    assert marzook.birth_dates == ("1951-02-09",)
    assert "523-33-8386" in marzook.identifiers
    haniyeh = sdn_2019.by_key()["ofac-sdn:23627"]
    assert Alias("HANIYYAH, Ismail", "strong") in haniyeh.aliases


def test_consolidated_has_haniya_in_ns_plc(consolidated: ParsedList) -> None:
    assert len(consolidated.entries) == 442
    haniya = consolidated.by_key()["ofac-cons:9639"]
    assert haniya.name == "HANIYA, Ismail Abdul Salah"
    assert haniya.programmes == ("NS-PLC",)
    assert {a.name for a in haniya.aliases} == {"HANIYA, Ismail", "HANIYYA, Ismaeel"}
    assert haniya.birth_dates == ("1962",)
    zahhar = consolidated.by_key()["ofac-cons:9647"]
    assert Alias("ZAHAR, Mahmoud", "weak") in zahhar.aliases  # a.k.a. in Remarks
    assert zahhar.nationalities == ("PS",)


def test_tiny_set_weak_aliases_nulls_and_programmes() -> None:
    tiny = parse_ofac_csv(ofac_files("ofac_tiny")).by_key()
    assert len(tiny) == 17
    logan = tiny["ofac-sdn:10278"]
    assert logan.aliases == (Alias("BURTON BURGESS", "weak"),)
    assert logan.birth_dates == ("1963-07-28",)
    assert logan.identifiers == ("P0017003", "561-77-9011")
    assert logan.programmes == ("SDNT",)
    hesa = tiny["ofac-sdn:11195"]
    assert hesa.programmes == ("NPWMD", "IFSR", "IRAN-CON-ARMS-EO")
    assert hesa.kind == "organization"  # SDN_Type -0-
    assert Alias("SHAHIN CO.", "weak") in hesa.aliases


def test_ofac_zip_parses_like_the_files() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in ofac_files("ofac_tiny").items():
            archive.writestr(f"sdn_files/{name}", data)
    assert parse_ofac_zip(buffer.getvalue()) == parse_ofac_csv(ofac_files("ofac_tiny"))


def test_ofac_truncated_row_is_refused_naming_file_and_line() -> None:
    files = ofac_files("ofac_tiny")
    lines = files["sdn.csv"].splitlines(keepends=True)
    files["sdn.csv"] = b"".join(lines[:5]) + lines[5][:40]
    with pytest.raises(WatchlistFormatError, match=r"sdn\.csv line 6"):
        parse_ofac_csv(files)


def test_ofac_garbled_alias_row_is_refused_and_nothing_is_returned() -> None:
    files = ofac_files("ofac_tiny")
    files["alt.csv"] = files["alt.csv"] + b'11195,99999,"aka"\n'
    with pytest.raises(WatchlistFormatError, match=r"alt\.csv line \d+: expected 5 fields"):
        parse_ofac_csv(files)


def test_ofac_duplicate_entity_is_refused() -> None:
    files = ofac_files("ofac_tiny")
    first = files["sdn.csv"].splitlines(keepends=True)[0]
    files["sdn.csv"] = files["sdn.csv"] + b"\n" + first
    with pytest.raises(WatchlistFormatError, match="duplicate entity number 10278"):
        parse_ofac_csv(files)


def test_ofac_missing_primary_file_is_refused() -> None:
    with pytest.raises(WatchlistFormatError, match=r"cons_prim\.csv is missing"):
        parse_ofac_csv(ofac_files("ofac_tiny"), consolidated=True)


# ---------------------------------------------------------------- fund CSV

FUND_CSV = "\n".join(
    [
        "id,kind,name,aliases,weak_aliases,original_script_name,birth_date,nationality,"
        "identifiers,programme,listed_on,remarks",
        "F-1,person,Example Person,Ex Person;E. Person,The Example,مثال,1970-05-01,PS,"
        "P123456,fund-own,2021-06-01,seen in audit",
        "F-2,organization,Example Contracting Co.,,,,,,REG-77,fund-own,,",
        "",
    ]
)


def test_fund_csv_parses_the_documented_columns() -> None:
    parsed = parse_fund_csv(FUND_CSV.encode())
    person, org = parsed.entries
    assert person.source_key == "fund:F-1"
    assert person.aliases == (
        Alias("Ex Person"),
        Alias("E. Person"),
        Alias("The Example", "weak"),
    )
    assert person.original_script_names == ("مثال",)
    assert person.birth_dates == ("1970-05-01",)
    assert person.nationalities == ("PS",)
    assert person.listed_on == "2021-06-01"
    assert org.kind == "organization" and org.identifiers == ("REG-77",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,kind,nme\n", r"line 1: unknown column\(s\) nme; missing column\(s\) name"),
        ("id,kind,name\nF-1,robot,X\n", r"line 2: kind 'robot'"),
        (
            "id,kind,name,birth_date\nF-1,person,X,1970\nF-2,person,Y,05/1970\n",
            r"line 3: birth_date",
        ),
        ("id,kind,name\nF-1,person,X\nF-1,person,Y\n", r"line 3: duplicate entry id"),
        ('id,kind,name\nF-1,person,"X\n', r"line \d+"),
        ("id,kind,name\nF-1,person\n", r"line 2: expected 3 fields"),
        ("id,kind,name\n", "no entries"),
    ],
)
def test_fund_csv_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(WatchlistFormatError, match=message):
        parse_fund_csv(text.encode())


# ---------------------------------------------------------------- fingerprint


def test_fingerprint_is_stable_and_follows_content() -> None:
    entry = ListEntry("fund:F-1", "person", "Example Person", aliases=(Alias("Ex"),))
    same = ListEntry("fund:F-1", "person", "Example Person", aliases=(Alias("Ex"),))
    assert entry.fingerprint() == same.fingerprint()
    assert len(entry.fingerprint()) == 64
    assert replace(entry, birth_dates=("1970",)).fingerprint() != entry.fingerprint()
