"""Screening in the ledger: importing watchlists, screening payees and the parties
behind them, review cases, and the gate at every payment.

The name index is built in memory from the active list entries and rebuilt when
a new list version is imported (the latest version is checked on each use, one
indexed query). Screening one name compares it with tens of candidates, not with
every name of every list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ledger.audit.services import record, snapshot
from ledger.auth.models import Actor, User
from ledger.bulk import among, chunks
from ledger.compliance.models import Restriction
from ledger.compliance.services import lift_restriction, restrict_payee
from ledger.db import database_key, lock_row, utcnow
from ledger.errors import Conflict, ValidationFailed
from ledger.notifications.services import EventSubject, notify, users_with_roles
from ledger.ops.collector import refreeze
from ledger.payees.models import Payee, RelatedParty
from ledger.screening.models import SOURCES, ReviewCase, WatchlistEntry, WatchlistVersion
from ledger.screening.names import (
    MATCHER_VERSION,
    REVIEW_THRESHOLD,
    NameIndex,
    Query,
    SearchHit,
)
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
from ledger.screening.triage import cleared_pairs, name_key

# ---------------------------------------------------------------- settings


def review_threshold() -> float:
    """The review threshold from ``config/`` (SCREENING_REVIEW_THRESHOLD)."""
    if has_app_context():
        return float(current_app.config.get("SCREENING_REVIEW_THRESHOLD", REVIEW_THRESHOLD))
    return REVIEW_THRESHOLD


def screening_workers() -> int:
    """How many processes screen a batch (SCREENING_WORKERS; 0: one per CPU)."""
    configured = int(current_app.config.get("SCREENING_WORKERS", 0)) if has_app_context() else 1
    return configured if configured > 0 else (os.cpu_count() or 1)


# ---------------------------------------------------------------- parsing and import


def parse_source(source: str, files: Mapping[str, bytes]) -> ParsedList:
    """Parse an upload for ``source``: the UN XML, the fund's CSV, or OFAC's legacy
    CSV set (a zip, or the four files by name). Malformed input raises
    ``ValidationFailed`` naming the file's line or element; nothing is changed."""
    if source not in SOURCES:
        raise ValidationFailed("source", f"Unknown watchlist source; one of {', '.join(SOURCES)}.")
    try:
        if source == "un":
            return parse_un_xml(_single(files))
        if source == "fund":
            return parse_fund_csv(_single(files))
        consolidated = source == "ofac-consolidated"
        if len(files) == 1:
            return parse_ofac_zip(_single(files), consolidated=consolidated)
        return parse_ofac_csv(files, consolidated=consolidated)
    except WatchlistFormatError as exc:
        raise ValidationFailed("file", str(exc)) from None


def _single(files: Mapping[str, bytes]) -> bytes:
    if len(files) != 1:
        raise ValidationFailed("file", "Upload exactly one file for this source.")
    return next(iter(files.values()))


def files_digest(files: Mapping[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    return digest.hexdigest()


def entry_from_data(data: Mapping[str, Any]) -> ListEntry:
    return ListEntry(
        source_key=data["source_key"],
        kind=data["kind"],
        name=data["name"],
        aliases=tuple(Alias(a["name"], a["strength"]) for a in data.get("aliases", ())),
        original_script_names=tuple(data.get("original_script_names", ())),
        birth_dates=tuple(data.get("birth_dates", ())),
        nationalities=tuple(data.get("nationalities", ())),
        identifiers=tuple(data.get("identifiers", ())),
        programmes=tuple(data.get("programmes", ())),
        listed_on=data.get("listed_on"),
        remarks=data.get("remarks"),
        reference=data.get("reference"),
    )


def import_watchlist(
    session: Session,
    actor: Actor | None,
    source: str,
    parsed: ParsedList,
    file_sha256: str,
    *,
    rescreen_now: bool = True,
) -> dict[str, Any]:
    """Record a new version of ``source`` and what it added, changed and removed
    against the previous one, and open a case for each restriction whose entry was
    removed; then screen every payee again: now, in this transaction
    (``rescreen_now``, the CLI), or in a ``watchlist.rescreen`` job queued with it
    (the API: a list import re-screens 100,000 payees in about 30 s)."""
    previous = session.scalar(
        select(func.max(WatchlistVersion.number)).where(WatchlistVersion.source == source)
    )
    version = WatchlistVersion(
        source=source,
        number=(previous or 0) + 1,
        file_sha256=file_sha256,
        published_at=parsed.published_at,
        entries=len(parsed.entries),
        added=0,
        changed=0,
        removed=0,
        details={k: str(v) for k, v in parsed.metadata.items()},
        imported_by=actor.id if actor else None,
    )
    session.add(version)
    session.flush()
    current = {
        row.source_key: row
        for row in session.scalars(
            select(WatchlistEntry).where(
                WatchlistEntry.source == source, WatchlistEntry.retired_in_id.is_(None)
            )
        )
    }
    incoming = parsed.by_key()
    new_rows = []
    for key, entry in incoming.items():
        fingerprint = entry.fingerprint()
        old = current.get(key)
        if old is not None and old.fingerprint == fingerprint:
            continue
        if old is not None:
            old.retired_in_id, old.retired_as = version.id, "changed"
            version.changed += 1
        else:
            version.added += 1
        new_rows.append(
            WatchlistEntry(
                source=source,
                source_key=key,
                kind=entry.kind,
                name=entry.name[:500],
                fingerprint=fingerprint,
                data=asdict(entry),
                version_id=version.id,
            )
        )
    removed_ids = []
    for key, old in current.items():
        if key not in incoming:
            old.retired_in_id, old.retired_as = version.id, "removed"
            version.removed += 1
            removed_ids.append(old.id)
    session.add_all(new_rows)
    session.flush()
    record(session, actor, "watchlist.imported", version)
    delisted = open_delisting_cases(session, actor, removed_ids)
    trigger = f"watchlist.imported:{source}:{version.number}"
    if rescreen_now:
        rescreen = rescreen_all(session, actor, trigger=trigger)
        return {"version": version, "rescreen": {**rescreen, "delisting_cases": delisted}}
    from ledger.jobs.services import enqueue

    job = enqueue(
        session,
        "watchlist.rescreen",
        {"trigger": trigger, "watchlist_version_id": version.id},
        actor=actor,
    )
    return {"version": version, "delisting_cases": delisted, "job": job, "job_id": job.id}


def version_changes(
    session: Session, version: WatchlistVersion, limit: int = 200
) -> dict[str, Any]:
    """What one import changed, read from the entries as stored (a version records
    only how many): the entries it added, those it changed (each as an earlier
    version had it and as this one has it), those it removed, the first ``limit``
    of each by key; and the review cases it opened (matches on the screening it
    ran, and delistings of the confirmed matches it removed)."""
    entry = WatchlistEntry
    changed_keys = select(entry.source_key).where(
        entry.retired_in_id == version.id, entry.retired_as == "changed"
    )
    added = session.scalars(
        select(entry)
        .where(entry.version_id == version.id, entry.source_key.not_in(changed_keys))
        .order_by(entry.source_key)
        .limit(limit)
    ).all()
    was = session.scalars(
        select(entry)
        .where(entry.retired_in_id == version.id, entry.retired_as == "changed")
        .order_by(entry.source_key)
        .limit(limit)
    ).all()
    now = {
        row.source_key: row
        for part in chunks([row.source_key for row in was])
        for row in session.scalars(
            select(entry).where(
                entry.version_id == version.id,
                entry.source == version.source,
                among(session, entry.source_key, part),
            )
        )
    }
    removed = session.scalars(
        select(entry)
        .where(entry.retired_in_id == version.id, entry.retired_as == "removed")
        .order_by(entry.source_key)
        .limit(limit)
    ).all()
    trigger = f"watchlist.imported:{version.source}:{version.number}"
    removed_ids = select(entry.id).where(
        entry.retired_in_id == version.id, entry.retired_as == "removed"
    )
    matches = session.scalar(select(func.count(ReviewCase.id)).where(ReviewCase.trigger == trigger))
    delistings = session.scalar(
        select(func.count(ReviewCase.id)).where(
            ReviewCase.kind == "delisting", ReviewCase.entry_id.in_(removed_ids)
        )
    )
    return {
        "added": list(added),
        "changed": [{"was": row, "now": now.get(row.source_key)} for row in was],
        "removed": list(removed),
        "cases_opened": matches or 0,
        "delisting_cases": delistings or 0,
    }


# ---------------------------------------------------------------- the index


@dataclass
class _Cached:
    key: tuple[Any, ...]
    index: NameIndex


# By the database (``ledger.db.database_key``).
_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()


# The latest list version as two columns any statement can carry (a payment's lock
# does, saving a statement): ``name_index(session, latest=(id, imported_at))``.
LATEST_LIST_ID = (
    select(WatchlistVersion.id).order_by(WatchlistVersion.id.desc()).limit(1).scalar_subquery()
)
LATEST_LIST_IMPORTED_AT = (
    select(WatchlistVersion.imported_at)
    .order_by(WatchlistVersion.id.desc())
    .limit(1)
    .scalar_subquery()
)
_LATEST_VERSION = select(LATEST_LIST_ID, LATEST_LIST_IMPORTED_AT)  # one row, maybe (None, None)
ASK = object()  # name_index: read the latest list version itself


def name_index(session: Session, latest: Any = ASK) -> NameIndex:
    """The index of every active entry, rebuilt when a list version was imported.
    ``latest``: the latest version's (id, imported_at) as the caller read it in
    this transaction (None: no list), else it is read here."""
    if latest is ASK:
        latest = session.execute(_LATEST_VERSION).one()
    if latest is not None and latest[0] is None:  # no list imported yet
        latest = None
    url = database_key(session)
    key = (url, tuple(latest) if latest else None)
    cached = _cache.get(url)
    if cached is not None and cached.key == key:
        return cached.index
    with _cache_lock:
        cached = _cache.get(url)
        if cached is not None and cached.key == key:
            return cached.index
        rows = session.execute(
            select(WatchlistEntry.id, WatchlistEntry.data).where(
                WatchlistEntry.retired_in_id.is_(None)
            )
        )
        index = NameIndex((entry_id, entry_from_data(data)) for entry_id, data in rows)
        _cache[url] = _Cached(key, index)
        refreeze()  # kept until the next list version: out of the collector's way
        return index


def cached_index(
    bind: Session | Engine,
) -> tuple[tuple[Any, ...] | None, NameIndex] | None:
    """The index ``name_index`` last built for this database (a session's or an
    engine's) and the list version it was built from, without asking the database
    whether that is still the latest (a caller that relies on it checks the version
    in its own statement)."""
    cached = _cache.get(database_key(bind))
    return None if cached is None else (cached.key[1], cached.index)


# ---------------------------------------------------------------- screening


@dataclass(frozen=True)
class Subject:
    """A payee, or a party behind it, as the matcher sees it."""

    payee_id: int
    related_party_id: int | None
    label: str
    names: tuple[str, ...]
    birth_date: str | None
    nationality: str | None
    identifiers: tuple[str, ...]
    kind: str | None = None  # "person" or "organization"


def _names(name: str, aliases: Iterable[Any], original_script_name: str | None) -> tuple[str, ...]:
    """Every name a payee or party goes by: its name, aliases, original-script name."""
    return (name, *(str(a) for a in aliases), *filter(None, [original_script_name]))


def _payee_subject(
    payee_id: int,
    name: str,
    aliases: Iterable[Any],
    original_script_name: str | None,
    birth_date: dt.date | None,
    country: str | None,
    identifiers: Iterable[Any],
    kind: str | None = None,
) -> Subject:
    return Subject(
        payee_id,
        None,
        name,
        _names(name, aliases, original_script_name),
        birth_date.isoformat() if birth_date else None,
        country,
        tuple(str(i.get("value", "")) for i in identifiers if isinstance(i, dict)),
        "person" if kind == "individual" else kind,
    )


def _party_subject(
    payee_id: int,
    payee_name: str,
    party_id: int,
    name: str,
    role: str,
    aliases: Iterable[Any],
    original_script_name: str | None,
    birth_date: dt.date | None,
    kind: str | None = None,
) -> Subject:
    return Subject(
        payee_id,
        party_id,
        f"{name} ({role} of {payee_name})",
        _names(name, aliases, original_script_name),
        birth_date.isoformat() if birth_date else None,
        None,
        (),
        kind,
    )


def subjects_of(payee: Payee) -> list[Subject]:
    """The payee and every party behind it, as the matcher sees them."""
    return [
        _payee_subject(
            payee.id,
            payee.name,
            payee.aliases,
            payee.original_script_name,
            payee.birth_date,
            payee.country,
            payee.identifiers,
            payee.kind,
        ),
        *(
            _party_subject(
                payee.id,
                payee.name,
                party.id,
                party.name,
                party.role,
                party.aliases,
                party.original_script_name,
                party.birth_date,
                party.kind,
            )
            for party in payee.related_parties
        ),
    ]


@dataclass(frozen=True)
class Hit:
    subject: Subject
    search: SearchHit

    def evidence(self, session: Session, threshold: float) -> dict[str, Any]:
        row = session.get(WatchlistEntry, self.search.entry_id)
        assert row is not None
        version = session.get(WatchlistVersion, row.version_id)
        match = self.search.match
        return {
            "subject": self.subject.label,
            "related_party_id": self.subject.related_party_id,
            "list": row.source,
            "list_version": version.number if version else None,
            "entry_id": row.id,
            "source_key": row.source_key,
            "entry_name": match.entry_name,
            "entry_name_kind": match.entry_name_kind,
            "query_name": match.query_name,
            "score": f"{match.score:.4f}",
            "name_score": f"{match.name_score:.4f}",
            "adjustments": list(match.adjustments),
            "identifier_match": match.identifier_match,
            "birth_date_match": match.birth_date_match,
            "programmes": list(row.data.get("programmes", ())),
            "matcher_version": MATCHER_VERSION,
            "threshold": f"{threshold:.2f}",
            # The listed party and the payee (or the party behind it) side by side:
            # what a compliance officer weighs beyond the names that matched.
            "listed": {
                "name": row.data.get("name"),
                "kind": row.data.get("kind"),
                "list": row.source,
                "list_version": version.number if version else None,
                "reference": row.data.get("reference"),
                "programmes": list(row.data.get("programmes", ())),
                "birth_dates": list(row.data.get("birth_dates", ())),
                "nationalities": list(row.data.get("nationalities", ())),
                "identifiers": list(row.data.get("identifiers", ())),
                "listed_on": row.data.get("listed_on"),
            },
            "screened": {
                "name": self.subject.names[0] if self.subject.names else None,
                "names": list(self.subject.names),
                "birth_date": self.subject.birth_date,
                "nationality": self.subject.nationality,
                "identifiers": list(self.subject.identifiers),
            },
        }


def search_subjects(
    index: NameIndex,
    subjects: Sequence[Subject],
    threshold: float | None = None,
    workers: int = 1,
) -> list[Hit]:
    """Every hit at or above the review threshold, for each subject in order:
    one search per distinct query (`NameIndex.search_many`, over ``workers``
    processes when there are many). An identifier that no list entry carries
    changes no answer, so it is left out of the query, and payees differing
    only in such identifiers (national ID numbers) share one search."""
    if not len(index) or not subjects:
        return []
    threshold = review_threshold() if threshold is None else threshold
    queries = [
        Query(
            s.names,
            s.birth_date,
            s.nationality,
            s.identifiers if index.knows_identifier(s.identifiers) else (),
            s.kind,
        )
        for s in subjects
    ]
    distinct = list(dict.fromkeys(queries))
    found = index.search_many(distinct, workers=workers, threshold=threshold)
    answers = dict(zip(distinct, found, strict=True))
    return [Hit(s, hit) for s, q in zip(subjects, queries, strict=True) for hit in answers[q]]


def uncovered(session: Session, hits: Sequence[Hit]) -> list[Hit]:
    """The hits that no case covers yet (same payee, party and entry), each
    once, and no group clearance holds for (same entry, same name as the matcher
    reads it: ``triage``). A hit cleared for the same entry content stays
    cleared; a changed entry is a new entry, so a new hit."""
    covered: set[tuple[int, int | None, int]] = set()
    for part in chunks(sorted({h.subject.payee_id for h in hits})):
        covered.update(
            (payee_id, party_id, entry_id)
            for payee_id, party_id, entry_id in session.execute(
                select(ReviewCase.payee_id, ReviewCase.related_party_id, ReviewCase.entry_id).where(
                    among(session, ReviewCase.payee_id, part), ReviewCase.kind == "match"
                )
            )
        )
    # A group clearance holds for a name against an entry: no case for it again.
    cleared = cleared_pairs(session, {h.search.entry_id for h in hits}) if hits else set()
    new = []
    for hit in hits:
        key = (hit.subject.payee_id, hit.subject.related_party_id, hit.search.entry_id)
        if key in covered:
            continue
        covered.add(key)
        if cleared and (hit.search.entry_id, name_key(hit.search.match.query_name)) in cleared:
            continue
        new.append(hit)
    return new


def find_new_hits(
    session: Session,
    payee: Payee,
    threshold: float | None = None,
    index: NameIndex | None = None,
) -> list[Hit]:
    """A payee's (and its parties') hits at or above the review threshold that no
    case covers yet."""
    index = name_index(session) if index is None else index
    return uncovered(session, search_subjects(index, subjects_of(payee), threshold))


def open_cases(
    session: Session, actor: Actor | None, hits: Iterable[Hit], trigger: str
) -> list[ReviewCase]:
    threshold = review_threshold()
    hits = list(hits)
    # The entries and versions the evidence names, loaded at once (a batch
    # may open thousands of cases); `Hit.evidence` then finds them in the session,
    # as long as something holds them: its identity map keeps weak references
    # only, and objects no one holds are gone at once (a query a case again).
    loaded: list[WatchlistEntry | WatchlistVersion] = []
    for part in chunks(sorted({h.search.entry_id for h in hits})):
        entries = session.scalars(
            select(WatchlistEntry).where(among(session, WatchlistEntry.id, part))
        ).all()
        versions = sorted({e.version_id for e in entries})
        loaded += entries
        loaded += session.scalars(
            select(WatchlistVersion).where(among(session, WatchlistVersion.id, versions))
        ).all()
    cases = [
        ReviewCase(
            payee_id=hit.subject.payee_id,
            related_party_id=hit.subject.related_party_id,
            entry_id=hit.search.entry_id,
            kind="match",
            status="open",
            score=f"{hit.search.match.score:.4f}",
            matcher_version=MATCHER_VERSION,
            evidence=hit.evidence(session, threshold),
            trigger=trigger[:60],
            opened_by=actor.id if actor else None,
            name_key=name_key(hit.search.match.query_name),
            listed_key=name_key(hit.search.match.entry_name),
        )
        for hit in hits
    ]
    session.add_all(cases)
    session.flush()  # one INSERT for them all; each event names its case's id
    for case in cases:
        record(session, actor, "review_case.opened", case)
    tell_cases_opened(session, actor, cases, trigger)
    return cases


def tell_cases_opened(
    session: Session, actor: Actor | None, cases: Sequence[ReviewCase], trigger: str
) -> None:
    """Tell compliance of cases opened together: one message for them all (an
    import's re-screening may open hundreds)."""
    if not cases:
        return
    first = cases[0]
    title = (
        f"Review case {first.id} opened ({trigger})"
        if len(cases) == 1
        else f"{len(cases)} review cases opened ({trigger})"
    )
    notify(
        session,
        "review_case.opened",
        EventSubject(
            "review_cases",
            first.id,
            title,
            {
                "count": len(cases),
                "trigger": trigger,
                "review_case_ids": [c.id for c in cases[:50]],
                "payee_ids": sorted({c.payee_id for c in cases})[:50],
            },
        ),
        users_with_roles(session, "compliance"),
        actor=actor,
    )


def tell_cases_decided(
    session: Session,
    actor: Actor | None,
    cases: Sequence[ReviewCase],
    subject: tuple[str, int] | None = None,
) -> None:
    """Tell compliance of cases confirmed or cleared together: one message."""
    if not cases:
        return
    first = cases[0]
    kind, subject_id = subject or ("review_cases", first.id)
    statuses = sorted({c.status for c in cases})
    title = (
        f"Review case {first.id} was {first.status}"
        if len(cases) == 1
        else f"{len(cases)} review cases were {' or '.join(statuses)}"
    )
    notify(
        session,
        "review_case.decided",
        EventSubject(
            kind,
            subject_id,
            title,
            {
                "count": len(cases),
                "status": statuses[0] if len(statuses) == 1 else statuses,
                "review_case_ids": [c.id for c in cases[:50]],
                "payee_ids": sorted({c.payee_id for c in cases})[:50],
                "reason": (first.resolution_reason or "")[:300],
            },
        ),
        users_with_roles(session, "compliance"),
        actor=actor,
    )


def screen_payee(
    session: Session, payee: Payee, actor: Actor | None, trigger: str
) -> list[ReviewCase]:
    """Screen a payee and its related parties now; open a case for each new hit."""
    return open_cases(session, actor, find_new_hits(session, payee), trigger)


def rescreen_all(session: Session, actor: Actor | None, trigger: str) -> dict[str, int]:
    """Screen every payee, and every party behind one, against the lists as they
    are now; open a case for each new hit (the rules of `find_new_hits`). In the
    caller's transaction (the CLI's import); the API's import queues a job that
    goes through the payees in chunks (`rescreen_payees`)."""
    result = rescreen_payees(session, actor, trigger)
    return {"payees_screened": result.payees_screened, "cases_opened": result.cases_opened}


@dataclass(frozen=True)
class Rescreened:
    payees_screened: int
    cases_opened: int
    last_payee_id: int  # the cursor for the next chunk (0: none screened)


# Re-screens of payees wait for each other (PostgreSQL): two of them (two lists
# imported a moment apart) would each find a hit uncovered and open a case each.
# A transaction-level advisory lock, in the two-integer key space.
_RESCREEN_LOCK = select(func.pg_advisory_xact_lock(0x6C656467, 1))


def rescreen_payees(
    session: Session,
    actor: Actor | None,
    trigger: str,
    *,
    after_payee_id: int = 0,
    limit: int | None = None,
) -> Rescreened:
    """Screen the payees with an id above ``after_payee_id`` (the next ``limit`` of
    them, in id order; all without one) and every party behind them; open a case
    for each new hit. Run again over the same payees, it opens nothing new: a hit
    that a case covers is not a new hit.

    Done in bulk, since a fund that paid a cash batch has 100,000 payees and a
    list import must re-screen them all: the payees and parties are read in
    two queries and searched through `search_subjects` over
    `screening_workers()` processes."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_RESCREEN_LOCK)
    payees = (
        select(
            Payee.id,
            Payee.name,
            Payee.aliases,
            Payee.original_script_name,
            Payee.birth_date,
            Payee.country,
            Payee.identifiers,
            Payee.kind,
        )
        .where(Payee.id > after_payee_id)
        .order_by(Payee.id)
    )
    if limit is not None:
        payees = payees.limit(limit)
    subjects = [_payee_subject(*row) for row in session.execute(payees)]
    if not subjects:
        return Rescreened(0, 0, after_payee_id)
    last_payee_id = subjects[-1].payee_id
    payee_name = select(Payee.name).where(Payee.id == RelatedParty.payee_id).scalar_subquery()
    subjects += [
        _party_subject(*row)
        for row in session.execute(
            select(
                RelatedParty.payee_id,
                payee_name,
                RelatedParty.id,
                RelatedParty.name,
                RelatedParty.role,
                RelatedParty.aliases,
                RelatedParty.original_script_name,
                RelatedParty.birth_date,
                RelatedParty.kind,
            ).where(RelatedParty.payee_id > after_payee_id, RelatedParty.payee_id <= last_payee_id)
        )
    ]
    payees_screened = sum(1 for s in subjects if s.related_party_id is None)
    # Each payee, then the parties behind it: the order cases open in.
    subjects.sort(key=lambda s: (s.payee_id, s.related_party_id or 0))
    index = name_index(session)
    hits = search_subjects(index, subjects, workers=screening_workers())
    opened = open_cases(session, actor, uncovered(session, hits), trigger)
    return Rescreened(payees_screened, len(opened), last_payee_id)


def open_delisting_cases(
    session: Session, actor: Actor | None, removed_entry_ids: list[int]
) -> int:
    """A restriction whose list entry was removed is not lifted: it gets a case."""
    if not removed_entry_ids:
        return 0
    confirmed = session.scalars(
        select(ReviewCase).where(
            ReviewCase.entry_id.in_(removed_entry_ids),
            ReviewCase.kind == "match",
            ReviewCase.status == "confirmed",
        )
    ).all()
    opened_cases: list[ReviewCase] = []
    for case in confirmed:
        restriction = session.get(Restriction, case.restriction_id)
        if restriction is None or restriction.lifted_at is not None:
            continue
        delisting = ReviewCase(
            payee_id=case.payee_id,
            related_party_id=case.related_party_id,
            entry_id=case.entry_id,
            kind="delisting",
            status="open",
            score=case.score,
            matcher_version=MATCHER_VERSION,
            evidence={
                **case.evidence,
                "delisted": True,
                "restriction_id": restriction.id,
                "confirmed_case_id": case.id,
            },
            trigger="watchlist.delisted",
            restriction_id=restriction.id,
            opened_by=actor.id if actor else None,
        )
        session.add(delisting)
        session.flush()
        record(session, actor, "review_case.opened", delisting)
        opened_cases.append(delisting)
    tell_cases_opened(session, actor, opened_cases, "watchlist.delisted")
    return len(opened_cases)


# ---------------------------------------------------------------- the payment gate


def screening_gate(
    session: Session, payee: Payee, actor_id: int | None, latest: Any = ASK
) -> tuple[list[dict[str, Any]], Callable[[Session], None] | None, int]:
    """Screen the payee now, at the moment of the act. Returns blocks for any new
    hits, the action that opens their cases (run it after the refused act has
    rolled back, so the cases survive the refusal), and how many list entries the
    payee was screened against. ``latest``: as ``name_index`` takes it."""
    index = name_index(session, latest)
    hits = find_new_hits(session, payee, index=index)
    if not hits:
        return [], None, len(index)
    threshold = review_threshold()
    blocks = [{"reason": "new_watchlist_hit", **hit.evidence(session, threshold)} for hit in hits]
    payee_id = payee.id

    def persist(s: Session) -> None:
        fresh = s.get(Payee, payee_id)
        if fresh is not None:
            actor = s.get(User, actor_id) if actor_id else None
            screen_payee(s, fresh, actor, "payment gate")

    return blocks, persist, len(index)


# ---------------------------------------------------------------- review cases


def _lock_case(session: Session, case_id: int) -> ReviewCase:
    case = lock_row(session, ReviewCase, case_id)
    if case.status != "open":
        raise Conflict(f"Review case {case.id} was {case.status} already.")
    return case


def confirm_case(
    session: Session, actor: Actor, *, case_id: int, reason: str, tell: bool = True
) -> ReviewCase:
    """A match: the payee becomes restricted, with the entry as evidence. A
    delisting: the restriction stays. Compliance is told, unless ``tell`` is false
    (a group's confirmation tells once for the group)."""

    case = _lock_case(session, case_id)
    before = snapshot(case)
    if case.kind == "match":
        restriction = restrict_payee(
            session,
            actor,
            payee_id=case.payee_id,
            reason=reason,
            source="watchlist",
            evidence={"review_case_id": case.id, **case.evidence, "entry": case.entry.data},
        )
        session.flush()
        case.restriction_id = restriction.id
    case.status = "confirmed"
    case.resolved_by, case.resolved_at, case.resolution_reason = actor.id, utcnow(), reason
    record(session, actor, "review_case.confirmed", case, before=before)
    if tell:
        tell_cases_decided(session, actor, [case])
    return case


def clear_case(session: Session, actor: Actor, *, case_id: int, reason: str) -> ReviewCase:
    """A match: a false positive, cleared while the entry stays unchanged. A
    delisting: the restriction is lifted (by another officer than its setter)."""

    case = _lock_case(session, case_id)
    before = snapshot(case)
    if case.kind == "delisting" and case.restriction_id is not None:
        lift_restriction(session, actor, restriction_id=case.restriction_id, reason=reason)
    case.status = "cleared"
    case.resolved_by, case.resolved_at, case.resolution_reason = actor.id, utcnow(), reason
    record(session, actor, "review_case.cleared", case, before=before)
    tell_cases_decided(session, actor, [case])
    return case


def check_names(
    session: Session,
    names: list[str],
    *,
    birth_date: str | None,
    nationality: str | None,
    identifiers: list[str],
    limit: int,
) -> dict[str, Any]:
    """The best candidates for a name, before a payee is registered (nothing written)."""
    threshold = review_threshold()
    shown = min(threshold, 0.6)
    hits = name_index(session).search(
        names,
        limit=limit,
        threshold=shown,
        birth_date=birth_date,
        nationality=nationality,
        identifiers=identifiers,
    )
    rows = {
        r.id: r
        for r in session.scalars(
            select(WatchlistEntry).where(WatchlistEntry.id.in_([h.entry_id for h in hits]))
        )
    }
    return {
        "matcher_version": MATCHER_VERSION,
        "review_threshold": f"{threshold:.2f}",
        "candidates": [
            {
                "entry_id": h.entry_id,
                "list": rows[h.entry_id].source,
                "source_key": rows[h.entry_id].source_key,
                "name": h.entry.name,
                "kind": h.entry.kind,
                "programmes": list(h.entry.programmes),
                "score": f"{h.match.score:.4f}",
                "query_name": h.match.query_name,
                "entry_name": h.match.entry_name,
                "entry_name_kind": h.match.entry_name_kind,
                "adjustments": list(h.match.adjustments),
                "would_open_case": h.match.score >= threshold,
            }
            for h in hits
        ],
    }
