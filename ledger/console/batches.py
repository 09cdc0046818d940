"""The treasurer's batches (issue 24, item 4): every batch with its progress, and a
batch's page with its held rows and why each is held, and the button that posts it.
The facts are ``batches.services``' (``progress``, ``rows_query``,
``request_status``); posting is ``batches.services.post_in_background`` (a
``batch.post`` job), as for the API's ``POST /batches/{id}/post``; a refusal shows
the service's reason and is kept."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField
from wtforms.validators import Optional

from ledger.api import paginate
from ledger.batches import services
from ledger.batches.models import Batch, BatchRow
from ledger.console.committee import READERS
from ledger.console.compliance import CASE_READERS
from ledger.console.views import allowed, bp
from ledger.db import db, get_or_404
from ledger.errors import LedgerError
from ledger.funding.models import Fund
from ledger.jobs.services import latest as latest_job
from ledger.money import Money
from ledger.problems import settle

PAGE = 50  # batches, or held rows, a page


class PostBatchForm(FlaskForm):  # type: ignore[misc]
    paid_on = DateField(_l("Value date (empty: today)"), validators=[Optional()])


def _page_args() -> dict[str, Any]:
    """The page asked for: a cursor from the previous page's link, if any."""
    cursor = request.args.get("cursor", "")
    return {"limit": PAGE, **({"cursor": cursor} if cursor else {})}


def batch_summary(batch: Batch) -> dict[str, Any]:
    """What a list or a request page shows of a batch, from ``progress``."""
    fund = db.session.get(Fund, batch.fund_id)
    return {
        "id": batch.id,
        "name": batch.name,
        "fund": fund.name if fund is not None else batch.fund_id,
        "request_id": batch.spending_request_id,
        "request_status": services.request_status(db.session, batch),
        "status": batch.status,
        "total": f"{Money(batch.total_minor, batch.currency)} {batch.currency}",
        "currency": batch.currency,
        "progress": services.progress(db.session, batch),
    }


@bp.get("/batches")
@login_required
def batches() -> str:
    """Every batch, oldest first, 50 a page, with its progress."""
    allowed(*READERS)
    page = paginate(db.session, select(Batch), Batch.id, _page_args())
    return render_template(
        "console/batches.html",
        batches=[batch_summary(b) for b in page["items"]],
        next_cursor=page["next_cursor"],
    )


@bp.get("/batches/<int:batch_id>")
@login_required
def batch_page(batch_id: int) -> str:
    allowed(*READERS)
    return render_template("console/batch.html", **_batch_facts(batch_id), form=PostBatchForm())


@bp.post("/batches/<int:batch_id>/post")
@login_required
def post_batch_page(batch_id: int) -> Any:
    allowed("treasurer")
    form = PostBatchForm()
    if not form.validate_on_submit():
        page = render_template("console/batch.html", **_batch_facts(batch_id), form=form)
        return page, 422
    try:
        batch, _job = services.post_in_background(
            db.session, current_user.user, batch_id=batch_id, paid_on=form.paid_on.data
        )
    except LedgerError as refused:
        settle(refused, current_user.user)  # as the API does: the refusal is kept
        flash(refused.detail, "error")
        page = render_template("console/batch.html", **_batch_facts(batch_id), form=form)
        return page, refused.status
    flash(
        _(
            "Batch %(id)s is posting, chunk after chunk: this page shows how far it has gone.",
            id=batch.id,
        ),
        "info",
    )
    return redirect(url_for("console.batch_page", batch_id=batch.id))


def _batch_facts(batch_id: int) -> dict[str, Any]:
    """Everything the batch page shows: its progress and a page of its held rows,
    each with what holds it (``problems.blocks``, as intake or posting found it)."""
    batch = get_or_404(db.session, Batch, batch_id)
    held = paginate(db.session, services.rows_query(batch.id, "held"), BatchRow.id, _page_args())
    rows = [
        {
            "line": r.line,
            "name": r.name,
            "original_script_name": r.original_script_name,
            "national_id": r.national_id,
            "amount": f"{Money(r.amount_minor or 0, batch.currency)} {batch.currency}",
            "reference": r.reference,
            "blocks": (r.problems or {}).get("blocks", []),
        }
        for r in held["items"]
    ]
    return {
        "batch": batch_summary(batch),
        "held": rows,
        "next_cursor": held["next_cursor"],
        "review_cases": any(
            b.get("reason") == "open_review_case" for r in rows for b in r["blocks"]
        ),
        # The batch.post job that pays it (its state, attempts and last error).
        "job": latest_job(db.session, "batch.post", batch_id=batch.id),
        "may_post": "treasurer" in current_user.roles and batch.status != "posted",
        "may_see_cases": any(r in current_user.roles for r in CASE_READERS),
    }
