"""Watchlists, screening checks and review cases."""

from typing import Any

import sqlalchemy as sa
from flask import abort
from flask.views import MethodView
from sqlalchemy import select

from ledger.api import Blueprint, PageArgs, page_of, paginate, problems
from ledger.auth.access import current_user, requires
from ledger.db import db, get_or_404
from ledger.errors import Conflict, NotFound, SeparationOfDuties
from ledger.funding.views import STAFF
from ledger.screening import services, triage
from ledger.screening.models import (
    SOURCES,
    GroupClearance,
    ReviewCase,
    WatchlistEntry,
    WatchlistVersion,
)
from ledger.screening.schemas import (
    CaseGroupArgs,
    CaseGroupListSchema,
    CheckResultSchema,
    CheckSchema,
    EntryListArgs,
    EntrySchema,
    GroupClearanceSchema,
    GroupConfirmedSchema,
    GroupDecisionSchema,
    ImportResultSchema,
    ResolveSchema,
    ReviewCaseListArgs,
    ReviewCaseSchema,
    UploadSchema,
    WatchlistVersionSchema,
)

blp = Blueprint("screening", __name__, description="Watchlists, screening and review cases")


def _source(source: str) -> str:
    if source not in SOURCES:
        abort(404)
    return source


@blp.route("/watchlists")
class Watchlists(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, WatchlistVersionSchema(many=True))
    def get(self) -> list[WatchlistVersion]:
        """The current version of every imported list."""
        latest = (
            select(sa.func.max(WatchlistVersion.id)).group_by(WatchlistVersion.source).subquery()
        )
        return list(
            db.session.scalars(
                select(WatchlistVersion)
                .where(WatchlistVersion.id.in_(select(latest)))
                .order_by(WatchlistVersion.source)
            )
        )


@blp.route("/watchlists/<source>/versions")
class Versions(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(WatchlistVersionSchema))
    def get(self, args: dict[str, Any], source: str) -> dict[str, Any]:
        """Every import of a list, with what each added, changed and removed."""
        stmt = select(WatchlistVersion).where(WatchlistVersion.source == _source(source))
        return paginate(db.session, stmt, WatchlistVersion.id, args)

    @requires("compliance")
    @problems(blp, NotFound)
    @blp.arguments(UploadSchema, location="files")
    @blp.response(202, ImportResultSchema, headers={"Location": {"schema": {"type": "string"}}})
    def post(self, files: dict[str, Any], source: str) -> Any:
        """Import a new version of a list (un, ofac-sdn, ofac-consolidated, fund). A
        malformed or truncated file is refused, naming the line or element, and
        changes nothing. A restriction whose entry the new version removed gets a
        delisting case at once; every payee is then screened again by a
        ``watchlist.rescreen`` job, which ``Location`` points to."""
        stream = files["file"]
        try:
            upload = {stream.filename or "file": stream.read()}
        finally:
            stream.close()
        parsed = services.parse_source(_source(source), upload)
        result = services.import_watchlist(
            db.session,
            current_user(),
            source,
            parsed,
            services.files_digest(upload),
            rescreen_now=False,
        )
        return result, 202, {"Location": f"/api/v1/jobs/{result['job_id']}"}


@blp.route("/watchlist-entries")
class Entries(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(EntryListArgs, location="query")
    @blp.response(200, page_of(EntrySchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List entries as imported, by list, active state or part of the name."""
        stmt = select(WatchlistEntry)
        if "source" in args:
            stmt = stmt.where(WatchlistEntry.source == args["source"])
        if "active" in args:
            active = WatchlistEntry.retired_in_id.is_(None)
            stmt = stmt.where(active if args["active"] else sa.not_(active))
        if "name" in args:
            stmt = stmt.where(WatchlistEntry.name.ilike(f"%{args['name']}%"))
        return paginate(db.session, stmt, WatchlistEntry.id, args)


@blp.route("/watchlist-entries/<int:entry_id>")
class EntryById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, EntrySchema)
    def get(self, entry_id: int) -> WatchlistEntry:
        """One entry, as published in its version."""
        return get_or_404(db.session, WatchlistEntry, entry_id)


@blp.route("/screening/check")
class Check(MethodView):
    @requires("clerk", "compliance")
    @blp.arguments(CheckSchema)
    @blp.response(200, CheckResultSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Check a name before registering a payee: the best candidates in the
        current lists, with scores and which names matched. Nothing is recorded."""
        return services.check_names(
            db.session,
            [data["name"], *data["aliases"]],
            birth_date=data["birth_date"].isoformat() if data["birth_date"] else None,
            nationality=data["country"],
            identifiers=data["identifiers"],
            limit=data["limit"],
        )


@blp.route("/review-cases")
class ReviewCases(MethodView):
    @requires("compliance", "treasurer", read=True)
    @blp.arguments(ReviewCaseListArgs, location="query")
    @blp.response(200, page_of(ReviewCaseSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Review cases, by status, kind or payee."""
        stmt = select(ReviewCase)
        for key in ("status", "kind", "payee_id"):
            if key in args:
                stmt = stmt.where(getattr(ReviewCase, key) == args[key])
        return paginate(db.session, stmt, ReviewCase.id, args)


@blp.route("/review-cases/<int:case_id>")
class ReviewCaseById(MethodView):
    @requires("compliance", "treasurer", read=True)
    @blp.response(200, ReviewCaseSchema)
    def get(self, case_id: int) -> ReviewCase:
        """One review case with its evidence."""
        return get_or_404(db.session, ReviewCase, case_id)


@blp.route("/review-cases/<int:case_id>/confirm")
class Confirm(MethodView):
    @requires("compliance")
    @problems(blp, NotFound, Conflict)
    @blp.arguments(ResolveSchema)
    @blp.response(200, ReviewCaseSchema)
    def post(self, data: dict[str, Any], case_id: int) -> ReviewCase:
        """A match: confirm it; the payee becomes restricted with the entry as
        evidence. A delisting: keep the restriction."""
        return services.confirm_case(
            db.session, current_user(), case_id=case_id, reason=data["reason"]
        )


@blp.route("/review-cases/<int:case_id>/clear")
class Clear(MethodView):
    @requires("compliance")
    @problems(blp, NotFound, Conflict, SeparationOfDuties)
    @blp.arguments(ResolveSchema)
    @blp.response(200, ReviewCaseSchema)
    def post(self, data: dict[str, Any], case_id: int) -> ReviewCase:
        """A match: clear it as a false positive (it stays cleared while the entry
        is unchanged). A delisting: lift the restriction (four eyes)."""
        return services.clear_case(
            db.session, current_user(), case_id=case_id, reason=data["reason"]
        )


# ---------------------------------------------------------------- groups (triage)


@blp.route("/review-case-groups")
class CaseGroups(MethodView):
    @requires("compliance", read=True)
    @blp.arguments(CaseGroupArgs, location="query")
    @blp.response(200, CaseGroupListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Open match cases in groups (one list entry, one name as the matcher reads
        it), largest first: decide a group at once."""
        return {
            "items": triage.case_groups(
                db.session, batch_id=args.get("batch_id"), limit=args["limit"]
            )
        }


@blp.route("/review-case-groups/clear")
class ClearGroup(MethodView):
    @requires("compliance")
    @problems(blp, NotFound, Conflict)
    @blp.arguments(GroupDecisionSchema)
    @blp.response(201, GroupClearanceSchema)
    def post(self, data: dict[str, Any]) -> GroupClearance:
        """Clear every open case of a group with one reason; the name stays cleared
        against the entry until the entry changes. A group above
        TRIAGE_SECOND_OFFICER_ABOVE cases is proposed (status "proposed") until a
        second compliance officer approves it."""
        return triage.clear_group(db.session, current_user(), **data)


@blp.route("/review-case-groups/clearances/<int:clearance_id>/approve")
class ApproveGroupClearance(MethodView):
    @requires("compliance")
    @problems(blp, NotFound, Conflict, SeparationOfDuties)
    @blp.response(200, GroupClearanceSchema)
    def post(self, clearance_id: int) -> GroupClearance:
        """A second compliance officer approves a proposed group clearance."""
        return triage.approve_clearance(db.session, current_user(), clearance_id=clearance_id)


@blp.route("/review-case-groups/confirm")
class ConfirmGroup(MethodView):
    @requires("compliance")
    @problems(blp, NotFound, Conflict)
    @blp.arguments(GroupDecisionSchema)
    @blp.response(200, GroupConfirmedSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Confirm every open case of a group with one reason: each payee becomes
        restricted, with the entry as evidence."""
        return {"confirmed": triage.confirm_group(db.session, current_user(), **data)}
