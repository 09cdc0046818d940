"""The auditor's pages (issue 24, item 5): a fund's dashboard as of a date, its
charts, every report to download, and the audit chain with its signed checkpoints.

The figures are the reports' own: each section is a report of the registry run by
``registry.build`` (the fund position, the pledge tracker, budget execution by
sector and by location), the charts are the PDF's (``pdf.chart_image``), and a
download is ``services.report_file``, which the API's ``GET /reports/{name}``
serves too. The chain's state is ``verify_chain``'s, as for ``GET
/audit-events/verify``. Nothing is computed here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, current_app, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from jinja2 import Undefined
from sqlalchemy import select
from wtforms import DateField, IntegerField
from wtforms.validators import NumberRange, Optional

from ledger.audit.checkpoints import as_published
from ledger.audit.models import AuditCheckpoint, AuditEvent
from ledger.audit.services import verify_chain
from ledger.console.views import allowed, bp
from ledger.db import db, get_or_404, utcnow
from ledger.errors import LedgerError
from ledger.funding.models import Donor, Fund
from ledger.problems import settle
from ledger.reports.formats import FORMATS
from ledger.reports.registry import REPORTS, ReportData, ReportParams, build, report_names
from ledger.reports.services import report_file

# The roles of the API's reports (``requires("treasurer", "compliance", read=True)``)
# and of its audit events (``requires("compliance", read=True)``).
REPORT_READERS = ("treasurer", "compliance", "auditor", "admin")
AUDIT_READERS = ("compliance", "auditor", "admin")

# The dashboard's sections: each a report of the registry, with its first chart.
SECTIONS = {
    "sources-and-uses": "fund-position",
    "pledges": "pledge-tracker",
    "sectors": "budget-execution-by-sector",
    "locations": "budget-execution-by-location",
}

# The fund position's figures as a person reads them, in the report's order.
POSITION_FIGURES = {
    "pledged": _l("Pledged"),
    "received": _l("Received"),
    "outstanding_pledges": _l("Outstanding pledges"),
    "committed": _l("Committed"),
    "disbursed": _l("Disbursed"),
    "committed_not_disbursed": _l("Committed, not disbursed"),
    "cash": _l("Cash"),
    "fx_differences": _l("Exchange differences"),
    "available": _l("Available to commit"),
}

RECENT_EVENTS = 50


class ReportArgsForm(FlaskForm):  # type: ignore[misc]
    """The query of a dashboard, a chart or a download (a GET: nothing to protect
    with a CSRF token)."""

    class Meta:
        csrf = False

    as_of = DateField(_l("As of"), validators=[Optional()])
    donor_id = IntegerField(_l("Donor"), validators=[Optional(), NumberRange(min=1)])


def _args() -> tuple[ReportArgsForm, bool]:
    """The query's arguments, and whether they are right (if not, why is flashed)."""
    form = ReportArgsForm(request.args)
    if form.validate():
        return form, True
    for field in (form.as_of, form.donor_id):
        for error in field.errors:
            flash(_("%(field)s: %(error)s", field=field.label.text, error=error), "error")
    return form, False


def _refused(refused: LedgerError, fund_id: int | None = None) -> tuple[str, int]:
    settle(refused, current_user.user)  # as the API does: the refusal is kept
    flash(refused.detail, "error")
    return render_template("console/refused.html", fund_id=fund_id), refused.status


def _params(fund: Fund, as_of: dt.date | None, donor_id: int | None = None) -> ReportParams:
    return ReportParams(fund.id, as_of, current_user.name, donor_id)


@dataclass(frozen=True)
class Section:
    """One report on the dashboard: its rows and totals, and its chart's address."""

    data: ReportData
    chart: str | None


@bp.get("/funds")
@login_required
def funds() -> str:
    allowed(*REPORT_READERS)
    listed = db.session.scalars(select(Fund).order_by(Fund.id)).all()
    return render_template("console/funds.html", funds=listed, today=utcnow().date())


@bp.get("/funds/<int:fund_id>")
@login_required
def dashboard(fund_id: int) -> Any:
    """The fund as of a date (today unless chosen): sources and uses, pledged and
    received per donor, committed and disbursed per sector and per location."""
    allowed(*REPORT_READERS)
    fund = get_or_404(db.session, Fund, fund_id)
    form, right = _args()
    if not right:
        return render_template("console/dashboard.html", fund=fund, form=form), 422
    as_of: dt.date = form.as_of.data or utcnow().date()
    form.as_of.data = as_of
    params = _params(fund, as_of)
    sections = {}
    for key, name in SECTIONS.items():
        data = build(db.session, name, params)
        drawn = data.report.charts and data.rows
        chart = url_for(".chart", fund_id=fund.id, name=key, as_of=as_of) if drawn else None
        sections[key] = Section(data, chart)
    position = sections["sources-and-uses"].data
    return render_template(
        "console/dashboard.html",
        fund=fund,
        form=form,
        as_of=as_of,
        sections=sections,
        position=position,
        figures=POSITION_FIGURES,
        reports=[REPORTS[name] for name in report_names()],
        formats=FORMATS,
    )


@bp.get("/funds/<int:fund_id>/charts/<name>.svg")
@login_required
def chart(fund_id: int, name: str) -> Any:
    """A dashboard's chart: the first chart of the section's report, drawn as the
    PDF draws it, in SVG."""
    from ledger.reports.pdf import chart_image

    allowed(*REPORT_READERS)
    if name not in SECTIONS:
        abort(404)
    fund = get_or_404(db.session, Fund, fund_id)
    form, right = _args()
    if not right:
        return render_template("console/refused.html", fund_id=fund.id), 422
    data = build(db.session, SECTIONS[name], _params(fund, form.as_of.data))
    image = chart_image(data, data.report.charts[0], "svg") if data.report.charts else None
    if image is None:
        abort(404)  # nothing to draw as of that date
    return Response(image, mimetype="image/svg+xml")


@bp.get("/funds/<int:fund_id>/reports/<name>.<any(json, csv, xlsx, pdf):fmt>")
@login_required
def download(fund_id: int, name: str, fmt: str) -> Any:
    """Report ``name`` of the fund as of a date, as the API serves it: the same
    file, media type and file name (the donor's statement with ``donor_id``)."""
    allowed(*REPORT_READERS)
    fund = get_or_404(db.session, Fund, fund_id)
    form, right = _args()
    if not right:
        return render_template("console/refused.html", fund_id=fund.id), 422
    as_of, donor_id = form.as_of.data, form.donor_id.data
    try:
        if fmt == "json":
            own = _own_json(name, fund, as_of, donor_id)
            if own is not None:
                return current_app.json.response(own)
        made = report_file(db.session, name, fmt, _params(fund, as_of, donor_id))
    except LedgerError as refused:
        return _refused(refused, fund.id)
    return made.response()


def _own_json(name: str, fund: Fund, as_of: dt.date | None, donor_id: int | None) -> Any:
    """The JSON of the reports whose API route answers JSON in a shape of its own
    (``reports.views.OWN_ROUTES``): the same service, dumped by the same schema."""
    from ledger.funding.schemas import DonorTraceSchema
    from ledger.funding.trace import donor_trace
    from ledger.reports.services import fund_position, trial_balance_report
    from ledger.reports.views import FundPositionSchema, TrialBalanceSchema

    if name == "fund-position":
        return FundPositionSchema().dump(fund_position(db.session, fund, as_of))
    if name == "trial-balance":
        return TrialBalanceSchema().dump(trial_balance_report(db.session, fund, as_of))
    if name == "donor-trace" and donor_id is not None:
        donor = get_or_404(db.session, Donor, donor_id)
        return DonorTraceSchema().dump(donor_trace(db.session, donor, as_of))
    return None


@bp.get("/audit")
@login_required
def audit_chain() -> str:
    """The chain checked now, its signed checkpoints (latest first) and its latest
    events."""
    allowed(*AUDIT_READERS)
    report = verify_chain(db.session)
    checkpoints = db.session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
    ).all()
    events = db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(RECENT_EVENTS)
    ).all()
    return render_template(
        "console/audit.html",
        chain=report,
        checkpoints=[as_published(c) for c in checkpoints],
        events=events,
        recent=RECENT_EVENTS,
    )


@bp.app_template_filter("amount")
def amount(value: Any) -> str:
    """A report's figure as the PDF prints it: grouped, every decimal kept (none, for
    a figure the row does not have: a total of all currencies has no row currency's)."""
    if value is None or isinstance(value, Undefined):
        return ""
    return f"{value:,}"


@bp.app_template_filter("total_label")
def total_label(total: dict[str, Any]) -> str:
    """A totals row's label (the registry's, in English) as a person reads it."""
    label = str(total.get("label", ""))
    if label.startswith("Total, all currencies, in "):
        return str(_("Total, all currencies, in %(currency)s", currency=label.rsplit(" ", 1)[-1]))
    if label.startswith("Total "):
        return str(_("Total %(currency)s", currency=label.split(" ", 1)[1]))
    return str(_("Total"))
