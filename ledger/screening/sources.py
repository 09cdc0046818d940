"""Watchlist file parsers: the UN Security Council XML, OFAC's legacy CSV sets and
the fund's own CSV list.

Each parser turns the bytes of one published file (or set of files) into a
`ParsedList` of immutable `ListEntry` values, or raises `WatchlistFormatError`
naming the line or element that is wrong. Parsing is all-or-nothing: a parser
either returns every entry of the file or raises, so an import built on it can
never store half a list. Nothing here touches the database.

Quirks of the real files that are handled here (see ``shared/data/README.md``):

* UN: text fields with stray spaces (``" RI "``); alias quality ``Good`` /
  ``a.k.a.`` / ``f.k.a.`` (strong) and ``Low`` (weak); birth dates given as an
  exact date, a year, an approximate year or a range of years; nationality as
  an English country name (``"Iran (Islamic Republic of)"``) or ``"na"``.
* OFAC: no header row; nulls written ``-0-`` with or without a trailing space;
  several programmes in one field (``"SDGT] [SDT"``); weak aliases, birth
  dates, nationalities and identifiers only inside the Remarks column
  (``a.k.a. 'NAME'``, ``DOB 12 Oct 1972``, ``nationality Iran``,
  ``Passport P0017003 (Belize)``); Remarks continued in ``sdn_comments.csv``;
  an ASCII SUB (``\\x1a``) end-of-file marker.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from lxml import etree
from rigour.territories import lookup_territory

__all__ = [
    "FUND_CSV_COLUMNS",
    "Alias",
    "ListEntry",
    "ParsedList",
    "WatchlistFormatError",
    "parse_fund_csv",
    "parse_ofac_csv",
    "parse_ofac_zip",
    "parse_un_xml",
]

Kind = Literal["person", "organization", "vessel", "other"]
Strength = Literal["strong", "weak"]
KINDS: frozenset[str] = frozenset({"person", "organization", "vessel", "other"})


class WatchlistFormatError(ValueError):
    """A watchlist file is malformed or truncated; the message names where."""


@dataclass(frozen=True, slots=True)
class Alias:
    """Another name of a list entry. Weak aliases (UN quality ``Low``, OFAC
    aliases given only in Remarks) are broad nicknames that the matcher
    weighs lower."""

    name: str
    strength: Strength = "strong"


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One entry of a watchlist, as published.

    ``source_key`` is the entry's stable id within its list, prefixed by the
    list (``un:6908048``, ``ofac-sdn:4695``, ``ofac-cons:9639``, ``fund:F-12``)
    so that keys from different lists never collide.
    """

    source_key: str
    kind: Kind
    name: str
    aliases: tuple[Alias, ...] = ()
    original_script_names: tuple[str, ...] = ()
    birth_dates: tuple[str, ...] = ()
    nationalities: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    programmes: tuple[str, ...] = ()
    listed_on: str | None = None
    remarks: str | None = None
    reference: str | None = None  # the list's own reference, e.g. UN "QDi.001"

    @property
    def all_names(self) -> tuple[str, ...]:
        """The primary name, every alias and every original-script name."""
        names = [self.name, *(a.name for a in self.aliases), *self.original_script_names]
        return tuple(dict.fromkeys(names))

    def canonical_json(self) -> str:
        """A canonical JSON rendering: same content, same text, always."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    def fingerprint(self) -> str:
        """sha256 (hex) of `canonical_json`: an import compares fingerprints of
        the same ``source_key`` across versions to find changed entries."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ParsedList:
    """Everything one file (or OFAC file set) says."""

    source: str
    entries: tuple[ListEntry, ...]
    published_at: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def by_key(self) -> dict[str, ListEntry]:
        """Entries keyed by ``source_key``."""
        return {e.source_key: e for e in self.entries}


# --------------------------------------------------------------------------- shared


_SPACES = re.compile(r"\s+")


def _clean(text: str | None) -> str:
    """Collapse runs of whitespace and strip: the UN list has ``" RI "``."""
    if text is None:
        return ""
    return _SPACES.sub(" ", text).strip()


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


_NULL_COUNTRIES = frozenset({"na", "n/a", "none", "unknown", "-0-", ""})


def country_code(text: str) -> str | None:
    """ISO 3166-1 alpha-2 code (upper case) for a country name or code as the
    lists write them, or None when it cannot be mapped. Uses rigour's
    territory database, which knows UN and OFAC spellings
    (``"Iran (Islamic Republic of)"``, ``"Korea, North"``, ``"State of Palestine"``)."""
    cleaned = _clean(text)
    if cleaned.lower() in _NULL_COUNTRIES:
        return None
    territory = lookup_territory(cleaned)
    if territory is None:
        return None
    return territory.code.split("-")[0].upper()


def _check_entries(source: str, entries: Sequence[ListEntry], where: Sequence[str]) -> None:
    seen: dict[str, str] = {}
    for entry, place in zip(entries, where, strict=True):
        if entry.source_key in seen:
            raise WatchlistFormatError(
                f"{place}: duplicate entry id {entry.source_key!r} "
                f"(first seen at {seen[entry.source_key]})"
            )
        seen[entry.source_key] = place
    if not entries:
        raise WatchlistFormatError(f"{source}: the file holds no entries")


# --------------------------------------------------------------------------- UN XML


def _xml_parser() -> etree.XMLParser:
    # No network, no DTD, no entity expansion: a hostile file can neither
    # reach out nor blow up memory (billion laughs).
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _text(el: etree._Element, tag: str) -> str:
    child = el.find(tag)
    return _clean(child.text) if child is not None else ""


def _texts(el: etree._Element, path: str) -> list[str]:
    return [t for t in (_clean(c.text) for c in el.iterfind(path)) if t]


def _un_birth_dates(el: etree._Element, tag: str) -> list[str]:
    dates: list[str] = []
    for dob in el.iterfind(tag):
        kind = _text(dob, "TYPE_OF_DATE").upper()
        date, year = _text(dob, "DATE"), _text(dob, "YEAR")
        if date:
            dates.append(_iso_date(date, dob))
        elif year:
            dates.append(_iso_date(year, dob))
        elif kind == "BETWEEN" or _text(dob, "FROM_YEAR"):
            start, end = _text(dob, "FROM_YEAR"), _text(dob, "TO_YEAR")
            if start and end:
                dates.extend(_year_range(start, end, f"line {dob.sourceline}"))
            elif start or end:
                dates.append(_iso_date(start or end, dob))
    return dates


def _iso_date(value: str, el: etree._Element) -> str:
    # xs:date may carry a time zone (the 2018 list has "1960-01-01-05:00").
    value = re.sub(r"^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})$", r"\1", value)
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value):
        raise WatchlistFormatError(
            f"line {el.sourceline}: <{el.tag}> holds an unreadable date {value!r}"
        )
    return value


def _year_range(start: str, end: str, place: str) -> list[str]:
    if not (start.isdigit() and end.isdigit()) or int(end) < int(start):
        raise WatchlistFormatError(f"{place}: unreadable range of years {start!r} to {end!r}")
    # A wide range says little; keep its two ends only.
    first, last = int(start), int(end)
    if last - first > 10:
        return [str(first), str(last)]
    return [str(y) for y in range(first, last + 1)]


def _un_entry(el: etree._Element, kind: Kind) -> ListEntry:
    tag = el.tag
    dataid = _text(el, "DATAID")
    if not dataid.isdigit():
        raise WatchlistFormatError(
            f"line {el.sourceline}: <{tag}> has no numeric <DATAID> (found {dataid!r})"
        )
    parts = [_text(el, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
    name = " ".join(p for p in parts if p)
    if not name:
        raise WatchlistFormatError(f"line {el.sourceline}: <{tag}> DATAID {dataid} has no name")
    alias_tag = "INDIVIDUAL_ALIAS" if kind == "person" else "ENTITY_ALIAS"
    aliases: list[Alias] = []
    for alias_el in el.iterfind(alias_tag):
        alias_name = _text(alias_el, "ALIAS_NAME")
        if not alias_name or alias_name == name:
            continue
        quality = _text(alias_el, "QUALITY").lower()
        aliases.append(Alias(alias_name, "weak" if quality == "low" else "strong"))
    originals = [
        n
        for text in _texts(el, "NAME_ORIGINAL_SCRIPT")
        for n in (_clean(x) for x in re.split(r"[,،;]", text))
        if n
    ]
    nationalities = [country_code(v) for v in _texts(el, "NATIONALITY/VALUE")]
    identifiers = [
        _clean(n) for doc in el.iterfind("INDIVIDUAL_DOCUMENT") for n in [_text(doc, "NUMBER")] if n
    ]
    return ListEntry(
        source_key=f"un:{dataid}",
        kind=kind,
        name=name,
        aliases=tuple(dict.fromkeys(aliases)),
        original_script_names=_dedupe(originals),
        birth_dates=_dedupe(_un_birth_dates(el, "INDIVIDUAL_DATE_OF_BIRTH")),
        nationalities=_dedupe(n for n in nationalities if n),
        identifiers=_dedupe(identifiers),
        programmes=_dedupe([_text(el, "UN_LIST_TYPE")]),
        listed_on=_text(el, "LISTED_ON") or None,
        remarks=_text(el, "COMMENTS1") or None,
        reference=_text(el, "REFERENCE_NUMBER") or None,
    )


def parse_un_xml(data: bytes) -> ParsedList:
    """Parse the UN Security Council Consolidated List (XML, as published).

    Raises `WatchlistFormatError` naming the line and element when the file is
    not well-formed XML (a truncated download), is not a consolidated list, or
    has an entry without id or name.
    """
    if re.search(rb"<!(?:DOCTYPE|ENTITY)", data[:65536]):
        # The published list has none; a DTD could only declare entities.
        raise WatchlistFormatError("UN list: a DOCTYPE or ENTITY declaration is not accepted")
    try:
        root = etree.fromstring(data, parser=_xml_parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise WatchlistFormatError(
            f"UN list is not well-formed XML at line {line}, column {column}: {exc.msg}"
        ) from exc
    if root.tag != "CONSOLIDATED_LIST":
        raise WatchlistFormatError(
            f"line {root.sourceline}: root element is <{root.tag}>, expected <CONSOLIDATED_LIST>"
        )
    entries: list[ListEntry] = []
    where: list[str] = []
    for group, tag, kind in (
        ("INDIVIDUALS", "INDIVIDUAL", "person"),
        ("ENTITIES", "ENTITY", "organization"),
    ):
        for el in root.iterfind(f"{group}/{tag}"):
            entries.append(_un_entry(el, kind))  # type: ignore[arg-type]
            where.append(f"line {el.sourceline} <{tag}>")
    _check_entries("UN list", entries, where)
    generated = root.get("dateGenerated")
    return ParsedList(
        source="un",
        entries=tuple(entries),
        published_at=generated,
        metadata={"dateGenerated": generated} if generated else {},
    )


# --------------------------------------------------------------------------- OFAC CSV

_OFAC_FILES: dict[bool, tuple[str, str, str, str]] = {
    False: ("sdn.csv", "alt.csv", "add.csv", "sdn_comments.csv"),
    True: ("cons_prim.csv", "cons_alt.csv", "cons_add.csv", "cons_comments.csv"),
}
_OFAC_WIDTHS = (12, 5, 6, 2)


def _null(value: str) -> str:
    """OFAC writes null as ``-0-``, often with a trailing space."""
    value = value.strip()
    return "" if value == "-0-" else _clean(value)


def _ofac_rows(name: str, data: bytes, width: int) -> Iterator[tuple[int, list[str]]]:
    """Yield (line number, fields) of one OFAC file, refusing malformed rows."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Older OFAC files are Windows-1252; every byte decodes there.
        text = data.decode("cp1252", errors="strict")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and row[0].strip() in ("", "\x1a")):
                continue
            if len(row) != width:
                raise WatchlistFormatError(
                    f"{name} line {line}: expected {width} fields, found {len(row)}"
                    " (truncated or garbled row)"
                )
            if not row[0].strip().isdigit():
                raise WatchlistFormatError(
                    f"{name} line {line}: entity number {row[0]!r} is not a number"
                )
            yield line, row
    except csv.Error as exc:
        raise WatchlistFormatError(f"{name} line {reader.line_num}: {exc}") from exc


_REMARK_AKA = re.compile(r"\b([afn])\.k\.a\.,?\s+'([^']+)'", re.IGNORECASE)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DATE_DMY = re.compile(r"^(\d{1,2}) ([A-Za-z]{3})[a-z]* (\d{4})$")
_DATE_MY = re.compile(r"^([A-Za-z]{3})[a-z]* (\d{4})$")
_DATE_Y = re.compile(r"^(\d{4})$")
_ID_LABEL = re.compile(
    r"^(?:alt\.\s+)?(?P<label>[^;]*?(?:Passport|ID|No\.?|Number|SSN|Cedula|C\.U\.R\.P\.|CURP"
    r"|R\.F\.C\.|RFC|D\.N\.I\.|NIT #|Identification|Document #?|Card|Certificate))"
    r"\s+(?P<value>[A-Za-z0-9][A-Za-z0-9./-]*\d[A-Za-z0-9./-]*)"
)
_ID_EXCLUDE = re.compile(r"^(?:alt\.\s+)?(?:Telephone|Fax|Phone|Website|Email|Aircraft|MMSI)", re.I)


def _ofac_date(text: str) -> list[str]:
    """``12 Oct 1972`` → 1972-10-12; ``Sep 1938`` → 1938-09; ``circa 1957`` → 1957;
    ``1960 to 1962`` → each year."""
    text = _clean(re.sub(r"^(?:circa|approximately)\s+", "", text.strip(), flags=re.I))
    if " to " in text:
        start, _, end = text.partition(" to ")
        sd, ed = _ofac_date(start), _ofac_date(end)
        if sd and ed and sd[0][:4].isdigit() and ed[0][:4].isdigit():
            return _year_range(sd[0][:4], ed[0][:4], "OFAC remarks")
        return sd + ed
    if m := _DATE_DMY.match(text):
        month = _MONTHS.get(m.group(2).lower())
        if month:
            return [f"{m.group(3)}-{month:02d}-{int(m.group(1)):02d}"]
    if m := _DATE_MY.match(text):
        month = _MONTHS.get(m.group(1).lower())
        if month:
            return [f"{m.group(2)}-{month:02d}"]
    if m := _DATE_Y.match(text):
        return [m.group(1)]
    return []


@dataclass
class _RemarkFacts:
    weak_aliases: list[str] = field(default_factory=list)
    birth_dates: list[str] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)


def _remark_facts(remarks: str) -> _RemarkFacts:
    facts = _RemarkFacts()
    facts.weak_aliases = [_clean(m.group(2)) for m in _REMARK_AKA.finditer(remarks)]
    for raw in remarks.split(";"):
        segment = _clean(raw).rstrip(".")
        bare = re.sub(r"^alt\.\s+", "", segment)
        if bare.startswith("DOB "):
            facts.birth_dates.extend(_ofac_date(bare[4:]))
        elif bare.lower().startswith(("nationality ", "citizen ")):
            code = country_code(bare.split(" ", 1)[1])
            if code:
                facts.nationalities.append(code)
        elif not _ID_EXCLUDE.match(segment) and (m := _ID_LABEL.match(segment)):
            facts.identifiers.append(m.group("value").rstrip("."))
    return facts


_OFAC_KIND: dict[str, Kind] = {
    "individual": "person",
    "vessel": "vessel",
    "aircraft": "other",
    "": "organization",
    "entity": "organization",
}


def parse_ofac_csv(files: Mapping[str, bytes], *, consolidated: bool = False) -> ParsedList:
    """Parse one OFAC legacy CSV set: SDN (``sdn.csv``, ``alt.csv``, ``add.csv``,
    ``sdn_comments.csv``) or, with ``consolidated=True``, the non-SDN
    consolidated list (``cons_prim.csv``, ``cons_alt.csv``, ``cons_add.csv``,
    ``cons_comments.csv``). ``files`` maps file names (any directory part and
    case are ignored) to their bytes; the primary file is required, the others
    optional.

    Raises `WatchlistFormatError` naming the file and line of a row with the
    wrong number of fields, a broken quote (truncation), an entity number that
    is not a number, or a duplicate entity. Rows of the secondary files that
    refer to an entity the primary file lacks are skipped and counted in
    ``metadata`` (the published sets do contain such rows).
    """
    by_name = {n.replace("\\", "/").rsplit("/", 1)[-1].lower(): b for n, b in files.items()}
    prim_name, alt_name, add_name, comments_name = _OFAC_FILES[consolidated]
    source = "ofac-cons" if consolidated else "ofac-sdn"
    if prim_name not in by_name:
        raise WatchlistFormatError(
            f"OFAC {'consolidated' if consolidated else 'SDN'} set: {prim_name} is missing"
            f" (given: {', '.join(sorted(by_name)) or 'nothing'})"
        )

    primary: dict[int, tuple[int, list[str]]] = {}
    for line, row in _ofac_rows(prim_name, by_name[prim_name], _OFAC_WIDTHS[0]):
        ent = int(row[0])
        if ent in primary:
            raise WatchlistFormatError(
                f"{prim_name} line {line}: duplicate entity number {ent}"
                f" (first at line {primary[ent][0]})"
            )
        if not _null(row[1]):
            raise WatchlistFormatError(f"{prim_name} line {line}: entity {ent} has no name")
        primary[ent] = (line, row)

    orphans: dict[str, int] = {}

    def related(file_name: str, width: int) -> dict[int, list[list[str]]]:
        out: dict[int, list[list[str]]] = {}
        if file_name not in by_name:
            return out
        for _line, row in _ofac_rows(file_name, by_name[file_name], width):
            ent = int(row[0])
            if ent not in primary:
                # The published files are not always cut at the same moment
                # (the 2019 sdn_comments.csv names entities added in 2022,
                # ofac_tiny keeps aliases of records it dropped): such rows
                # are counted, not refused.
                orphans[file_name] = orphans.get(file_name, 0) + 1
                continue
            out.setdefault(ent, []).append(row)
        return out

    alts = related(alt_name, _OFAC_WIDTHS[1])
    related(add_name, _OFAC_WIDTHS[2])  # validated; addresses are not screened
    comments = related(comments_name, _OFAC_WIDTHS[3])

    entries: list[ListEntry] = []
    for ent, (line, row) in primary.items():
        name = _null(row[1])
        kind_text = _null(row[2]).lower()
        if kind_text not in _OFAC_KIND:
            raise WatchlistFormatError(
                f"{prim_name} line {line}: unknown entity type {row[2].strip()!r}"
            )
        programmes = [p.strip(" []") for p in _null(row[3]).split("] [")]
        # Remarks continue, mid-sentence, in the comments file.
        remarks = _null(row[11]) + "".join(c[1].rstrip() for c in comments.get(ent, []))
        remarks = _clean(remarks)
        facts = _remark_facts(remarks)
        aliases = [Alias(_null(a[3]), "strong") for a in alts.get(ent, []) if _null(a[3])]
        strong = {name.casefold()} | {a.name.casefold() for a in aliases}
        aliases += [Alias(w, "weak") for w in facts.weak_aliases if w.casefold() not in strong]
        entries.append(
            ListEntry(
                source_key=f"{source}:{ent}",
                kind=_OFAC_KIND[kind_text],
                name=name,
                aliases=tuple(a for a in dict.fromkeys(aliases) if a.name != name),
                birth_dates=_dedupe(facts.birth_dates),
                nationalities=_dedupe(facts.nationalities),
                identifiers=_dedupe(facts.identifiers),
                programmes=_dedupe(programmes),
                remarks=remarks or None,
            )
        )
    where = [f"{prim_name} line {line}" for line, _ in primary.values()]
    _check_entries(prim_name, entries, where)
    metadata = {f"orphan_rows:{name}": str(count) for name, count in sorted(orphans.items())}
    return ParsedList(source=source, entries=tuple(entries), metadata=metadata)


def parse_ofac_zip(data: bytes, *, consolidated: bool = False) -> ParsedList:
    """`parse_ofac_csv` over the CSV files inside a zip archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            files = {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if not info.is_dir() and info.filename.lower().endswith(".csv")
            }
    except (zipfile.BadZipFile, EOFError) as exc:
        raise WatchlistFormatError(f"OFAC archive is not a readable zip file: {exc}") from exc
    return parse_ofac_csv(files, consolidated=consolidated)


# --------------------------------------------------------------------------- fund CSV

#: Columns of the fund's own list. ``id``, ``kind`` and ``name`` are required;
#: multi-valued columns separate values with ``;``.
FUND_CSV_COLUMNS: tuple[str, ...] = (
    "id",  # the fund's own stable id for the entry, e.g. F-0012
    "kind",  # person | organization | vessel | other
    "name",  # primary name
    "aliases",  # strong aliases, ';'-separated
    "weak_aliases",  # weak aliases (nicknames, kunyas), ';'-separated
    "original_script_name",  # names in original script, ';'-separated
    "birth_date",  # YYYY, YYYY-MM or YYYY-MM-DD, ';'-separated
    "nationality",  # ISO alpha-2 codes or country names, ';'-separated
    "identifiers",  # passport / ID / registration numbers, ';'-separated
    "programme",  # why the fund lists it, ';'-separated
    "listed_on",  # YYYY-MM-DD
    "remarks",  # free text
)
_FUND_REQUIRED = ("id", "kind", "name")


def parse_fund_csv(data: bytes) -> ParsedList:
    """Parse the fund's own list: UTF-8 CSV with a header row naming some of
    `FUND_CSV_COLUMNS` (``id``, ``kind`` and ``name`` required; unknown columns
    are refused so that a typo never drops data silently)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WatchlistFormatError(f"fund list: not UTF-8 (byte {exc.start})") from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    entries: list[ListEntry] = []
    where: list[str] = []
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if not header:
            raise WatchlistFormatError("fund list line 1: the header row is missing")
        unknown = [h for h in header if h not in FUND_CSV_COLUMNS]
        missing = [h for h in _FUND_REQUIRED if h not in header]
        if unknown or missing:
            raise WatchlistFormatError(
                "fund list line 1: "
                + "; ".join(
                    ([f"unknown column(s) {', '.join(unknown)}"] if unknown else [])
                    + ([f"missing column(s) {', '.join(missing)}"] if missing else [])
                )
            )
        for row in reader:
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise WatchlistFormatError(
                    f"fund list line {line}: expected {len(header)} fields, found {len(row)}"
                )
            entries.append(_fund_entry(dict(zip(header, row, strict=True)), line))
            where.append(f"fund list line {line}")
    except csv.Error as exc:
        raise WatchlistFormatError(f"fund list line {reader.line_num}: {exc}") from exc
    _check_entries("fund list", entries, where)
    return ParsedList(source="fund", entries=tuple(entries))


def _fund_entry(row: Mapping[str, str], line: int) -> ListEntry:
    def many(column: str) -> list[str]:
        return [_clean(v) for v in row.get(column, "").split(";") if _clean(v)]

    def fail(message: str) -> WatchlistFormatError:
        return WatchlistFormatError(f"fund list line {line}: {message}")

    entry_id, kind, name = _clean(row["id"]), _clean(row["kind"]).lower(), _clean(row["name"])
    if not entry_id:
        raise fail("id is empty")
    if kind not in KINDS:
        raise fail(f"kind {kind!r} is not one of {', '.join(sorted(KINDS))}")
    if not name:
        raise fail("name is empty")
    dates = many("birth_date")
    for d in dates:
        if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", d):
            raise fail(f"birth_date {d!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    nationalities: list[str] = []
    for n in many("nationality"):
        code = country_code(n)
        if code is None:
            raise fail(f"nationality {n!r} is not a known country")
        nationalities.append(code)
    listed_on = _clean(row.get("listed_on", "")) or None
    if listed_on and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", listed_on):
        raise fail(f"listed_on {listed_on!r} is not YYYY-MM-DD")
    aliases = [Alias(a, "strong") for a in many("aliases")]
    aliases += [Alias(a, "weak") for a in many("weak_aliases")]
    return ListEntry(
        source_key=f"fund:{entry_id}",
        kind=kind,  # type: ignore[arg-type]
        name=name,
        aliases=tuple(a for a in dict.fromkeys(aliases) if a.name != name),
        original_script_names=_dedupe(many("original_script_name")),
        birth_dates=_dedupe(dates),
        nationalities=_dedupe(nationalities),
        identifiers=_dedupe(many("identifiers")),
        programmes=_dedupe(many("programme")),
        listed_on=listed_on,
        remarks=_clean(row.get("remarks", "")) or None,
    )
