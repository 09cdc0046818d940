"""Documents on the console (issue 26, item 3): a request's page lists its
documents, its use reports' and its votes', each downloaded through
``/console/documents/<id>``, and offers the upload to the roles that may attach
to a request. The same services as the API: ``documents.services.attach``,
``readable_document`` and ``content_of``; a refused file shows the service's
own reason."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from werkzeug.wrappers import Response

from ledger.auth.models import User
from ledger.committee.models import SpendingRequest, TrancheUseReport
from ledger.console.views import allowed, bp
from ledger.db import db, get_or_404
from ledger.documents import services
from ledger.documents.store import store_for
from ledger.documents.views import MULTIPART_OVERHEAD, as_download
from ledger.errors import LedgerError
from ledger.problems import settle


class DocumentForm(FlaskForm):  # type: ignore[misc]
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file."))])


def upload_form(form: DocumentForm | None = None) -> DocumentForm | None:
    """The upload form, for a user who may attach documents to a request."""
    if not services.may_attach(current_user.user, "spending_request"):
        return None
    return form or DocumentForm()


def request_documents(spending_request: SpendingRequest) -> list[dict[str, Any]]:
    """The documents of a request, its use reports and its votes, as the page lists
    them: what each is attached to, who attached it and when."""
    session = db.session
    documents = services.request_documents(session, spending_request)
    people = {d.uploaded_by for d in documents} | {v.member_id for v in spending_request.votes}
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(people))).all())
    votes = {v.id: names.get(v.member_id, v.member_id) for v in spending_request.votes}
    reports = dict(
        session.execute(
            select(TrancheUseReport.id, TrancheUseReport.reference).where(
                TrancheUseReport.spending_request_id == spending_request.id
            )
        ).all()
    )

    def attached_to(record_type: str, record_id: int) -> Any:
        if record_type == "use_report":
            return _("use report %(reference)s", reference=reports.get(record_id, record_id))
        if record_type == "vote":
            return _("the vote of %(member)s", member=votes.get(record_id, record_id))
        return _("the request")

    return [
        {
            "id": d.id,
            "name": d.name,
            "attached_to": attached_to(d.record_type, d.record_id),
            "content_type": d.content_type,
            "size": d.size,
            "uploaded_by": names.get(d.uploaded_by, d.uploaded_by),
            "uploaded_at": d.uploaded_at,
        }
        for d in documents
    ]


@bp.post("/requests/<int:request_id>/documents")
@login_required
def attach_document(request_id: int) -> Any:
    from ledger.console.committee import VoteForm, request_facts

    allowed(*services.KINDS["spending_request"].attach)
    limits = services.Limits.from_config(current_app.config)
    # Before the form reads the body: the API's upload limit, not the general one.
    request.max_content_length = limits.max_bytes + MULTIPART_OVERHEAD
    spending_request = get_or_404(db.session, SpendingRequest, request_id)
    form = DocumentForm()

    def page(status: int) -> tuple[str, int]:
        facts = request_facts(spending_request, upload=form)
        return render_template("console/request.html", **facts, form=VoteForm()), status

    if not form.validate_on_submit():
        return page(422)
    stream = form.file.data
    try:
        document = services.attach(
            db.session,
            current_user.user,
            store_for(current_app),
            limits,
            record_type="spending_request",
            record_id=request_id,
            name=stream.filename,
            declared_type=stream.mimetype,
            content=stream.read(limits.max_bytes + 1),
        )
    except LedgerError as refused:
        settle(refused, current_user.user)
        spending_request = get_or_404(db.session, SpendingRequest, request_id)
        flash(refused.errors["file"][0] if refused.errors else refused.detail, "error")
        return page(refused.status)
    finally:
        stream.close()
    flash(_("%(name)s is attached to the request.", name=document.name), "info")
    return redirect(url_for("console.request_page", request_id=request_id))


@bp.get("/documents/<int:document_id>")
@login_required
def document_content(document_id: int) -> Response:
    """A document's bytes, for whoever may read the record it belongs to."""
    allowed(*services.ANY_READER)
    document = services.readable_document(db.session, current_user.user, document_id)
    return as_download(document, services.content_of(store_for(current_app), document))
