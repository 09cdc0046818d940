"""Documents attached to the record (issue 26, item 3): attached by the roles that
act on the record, read by those who read it, limited in size and type (read from
the content), stored once under their sha256, recorded in the audit chain, and
checked by ``flask --app wsgi documents verify``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from ledger.documents.models import Document
from tests.documents.conftest import pdf, stored_files, upload
from tests.screening.test_screening_flow import register
from tests.screening.test_screening_flow import upload as upload_list
from tests.test_api_conventions import assert_problem, audit_head

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def world(ledger: Any, documents_dir: Path) -> dict[str, Any]:
    """An approved request of 1,000.00 in two tranches, the first paid and its use
    reported; the directory its documents go to."""
    world = ledger.funded(received="100000.00")
    request = ledger.request(
        world["fund"]["id"],
        world["project"]["id"],
        world["payee"]["id"],
        "1000.00",
        tranches=[{"percent": "40"}, {"percent": "60"}],
    )
    world["request"] = ledger.approve(request["id"])
    ledger.disburse(request["id"], "400.00")
    world["use_report"] = ledger.call(
        "POST",
        f"/spending-requests/{request['id']}/tranches/1/use-reports",
        "clerk",
        {"amount_used": "250.00", "currency": "USD", "reference": "UR-1"},
        expect=201,
    )
    world["votes"] = ledger.get(f"/spending-requests/{request['id']}/votes")["items"]
    world["dir"] = documents_dir
    return world


def attached(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def test_a_pdf_attached_to_a_request_is_listed_downloaded_and_audited(ledger, world):
    content = pdf()
    sha256 = hashlib.sha256(content).hexdigest()
    request_id = world["request"]["id"]

    document = attached(
        upload(ledger, f"/spending-requests/{request_id}/documents", "clerk", content)
    )

    assert document["record_type"] == "spending_request"
    assert document["record_id"] == request_id
    assert document["sha256"] == sha256
    assert document["size"] == len(content)
    assert document["content_type"] == "application/pdf"
    assert document["name"] == "contract.pdf"
    assert document["uploaded_by"] == ledger.user_ids["clerk"]
    listed = ledger.get(f"/spending-requests/{request_id}/documents", "member-un")["items"]
    assert [d["id"] for d in listed] == [document["id"]]
    assert ledger.get(f"/documents/{document['id']}", "treasurer") == document

    download = ledger.raw("GET", document["content_url"].removeprefix("/api/v1"), "auditor")
    assert download.status_code == 200
    assert download.data == content
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == "attachment; filename=contract.pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    events = ledger.get("/audit-events?action=document.attached", "auditor")["items"]
    assert len(events) == 1
    assert events[0]["entity_type"] == "documents"
    assert events[0]["entity_id"] == str(document["id"])
    assert events[0]["actor_id"] == ledger.user_ids["clerk"]
    for field in ("sha256", "name", "size", "content_type", "uploaded_by", "record_id"):
        assert events[0]["after"][field] == document[field], field
    assert stored_files(world["dir"]) == [world["dir"] / sha256[:2] / sha256[2:4] / sha256]


def test_a_name_in_arabic_is_kept_and_sent_encoded(ledger, world):
    path = f"/spending-requests/{world['request']['id']}/documents"
    document = attached(upload(ledger, path, "treasurer", pdf(), name="عقد الترميم.pdf"))

    assert document["name"] == "عقد الترميم.pdf"
    download = ledger.raw("GET", f"/documents/{document['id']}/content", "clerk")
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert f"filename*=UTF-8''{quote('عقد الترميم.pdf')}" in disposition
    assert disposition.isascii()


def test_a_path_is_reduced_to_the_files_name(ledger, world):
    path = f"/spending-requests/{world['request']['id']}/documents"
    document = attached(upload(ledger, path, "clerk", pdf(), name="scans/2021/invoice.pdf"))

    assert document["name"] == "invoice.pdf"


def test_documents_attach_to_use_reports_votes_and_review_cases(ledger, world):
    report = world["use_report"]["id"]
    vote = world["votes"][0]
    member = next(n for n, i in ledger.user_ids.items() if i == vote["member_id"])

    on_report = attached(
        upload(
            ledger,
            f"/use-reports/{report}/documents",
            "treasurer",
            b"a,b\n1,2\n",
            "use.csv",
            "text/csv",
        )
    )
    on_vote = attached(
        upload(ledger, f"/votes/{vote['id']}/documents", member, PNG, "site.png", "image/png")
    )

    assert on_report["content_type"] == "text/csv"
    assert on_vote["content_type"] == "image/png"
    assert ledger.get(f"/use-reports/{report}/documents")["items"] == [on_report]
    assert ledger.get(f"/votes/{vote['id']}/documents")["items"] == [on_vote]
    # The member's own vote only.
    other = next(n for n in ("member-un", "member-eu", "member-qatar") if n != member)
    refused = upload(ledger, f"/votes/{vote['id']}/documents", other, PNG, "site.png", "image/png")
    assert_problem(refused, 403, "forbidden")


@pytest.fixture
def review_case(ledger: Any) -> dict[str, Any]:
    """A review case: a payee whose name is on the fund's own list."""
    listed = (
        b"id,kind,name,aliases,weak_aliases,original_script_name,birth_date,nationality,"
        b"identifiers,programme,listed_on,remarks\n"
        b"F-1,person,Khalil Abu Shaaban,,,,1970,PS,,FUND,2021-08-01,committee vetting\n"
    )
    assert upload_list(ledger, "fund", "fund.csv", listed).status_code == 202
    payee = register(ledger, "Khalil Abu Shaaban")
    case: dict[str, Any] = ledger.get(f"/review-cases?payee_id={payee['id']}", "compliance")[
        "items"
    ][0]
    return case


def test_who_may_not_read_the_case_may_not_read_its_documents(ledger, world, review_case):
    path = f"/review-cases/{review_case['id']}/documents"
    document = attached(upload(ledger, path, "compliance", pdf("Registry extract.")))

    for reader in ("treasurer", "auditor", "admin", "compliance2"):
        assert ledger.raw("GET", f"/documents/{document['id']}/content", reader).status_code == 200
    for outsider in ("clerk", "member-un"):
        assert_problem(
            ledger.raw("GET", f"/documents/{document['id']}/content", outsider), 403, "forbidden"
        )
        assert_problem(
            ledger.raw("GET", f"/documents/{document['id']}", outsider), 403, "forbidden"
        )
        assert_problem(ledger.raw("GET", path, outsider), 403, "forbidden")
    assert_problem(
        ledger.raw("GET", f"/documents/{document['id']}/content", None), 401, "unauthenticated"
    )
    assert_problem(ledger.raw("GET", "/documents/999999/content", "auditor"), 404, "not_found")
    # Attaching is compliance's, as deciding the case is.
    assert_problem(upload(ledger, path, "treasurer", pdf()), 403, "forbidden")


def test_only_the_roles_that_act_on_a_request_attach_to_it(ledger, world):
    path = f"/spending-requests/{world['request']['id']}/documents"
    for outsider in ("member-un", "compliance", "auditor", "admin"):
        assert_problem(upload(ledger, path, outsider, pdf()), 403, "forbidden")
    assert_problem(
        upload(ledger, "/spending-requests/999999/documents", "clerk", pdf()), 404, "not_found"
    )
    assert stored_files(world["dir"]) == []


def nothing_kept(ledger: Any, session: Any, world: dict[str, Any], head: int) -> None:
    assert stored_files(world["dir"]) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Document)) == 0
    session.rollback()
    assert audit_head(ledger) == head


def test_an_oversize_file_is_refused_and_nothing_is_stored(app, ledger, session, world):
    head = audit_head(ledger)
    path = f"/spending-requests/{world['request']['id']}/documents"
    app.config["DOCUMENTS_MAX_BYTES"] = 2000
    try:
        refused = upload(ledger, path, "clerk", b"x" * 2001, "note.txt", "text/plain")
        body = assert_problem(refused, 413, "document_too_large")
        assert body["errors"]["file"] == [
            "The file is larger than the limit of 2000 bytes (DOCUMENTS_MAX_BYTES)."
        ]
        nothing_kept(ledger, session, world, head)
        at_limit = upload(ledger, path, "clerk", b"x" * 2000, "note.txt", "text/plain")
    finally:
        app.config["DOCUMENTS_MAX_BYTES"] = 20 * 1024 * 1024

    assert attached(at_limit)["size"] == 2000


def test_a_body_beyond_the_upload_limit_is_refused_at_the_door(app, ledger, session, world):
    head = audit_head(ledger)
    app.config["DOCUMENTS_MAX_BYTES"] = 2000
    try:
        path = f"/spending-requests/{world['request']['id']}/documents"
        refused = upload(ledger, path, "clerk", b"x" * 200_000, "note.txt", "text/plain")
    finally:
        app.config["DOCUMENTS_MAX_BYTES"] = 20 * 1024 * 1024

    assert_problem(refused, 413, "payload_too_large")
    nothing_kept(ledger, session, world, head)


@pytest.mark.parametrize(
    ("content", "name", "declared", "said"),
    [
        (
            b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
            "invoice.pdf",
            "application/pdf",
            "The content is text/html, which is not an allowed type",
        ),
        (
            Path("/bin/ls").read_bytes(),
            "invoice.pdf",
            "application/pdf",
            "The content is application/x-",
        ),
        (
            pdf(),
            "invoice.pdf",
            "image/png",
            "declared as image/png, but its content is application/pdf",
        ),
        (
            pdf(),
            "invoice.exe",
            "application/octet-stream",
            "The name ends in .exe, but the content is application/pdf",
        ),
        (b"", "empty.pdf", "application/pdf", "The file is empty."),
    ],
    ids=[
        "html-renamed-pdf",
        "program-renamed-pdf",
        "declared-otherwise",
        "named-otherwise",
        "empty",
    ],
)
def test_a_file_whose_content_is_not_an_allowed_type_is_refused(
    ledger, session, world, content, name, declared, said
):
    head = audit_head(ledger)
    path = f"/spending-requests/{world['request']['id']}/documents"

    refused = upload(ledger, path, "clerk", content, name, declared)

    body = assert_problem(refused, 422, "document_type_refused")
    assert said in body["errors"]["file"][0]
    nothing_kept(ledger, session, world, head)


def test_an_upload_without_a_file_names_the_field(ledger, world):
    response = ledger.raw(
        "POST", f"/spending-requests/{world['request']['id']}/documents", "clerk", {}
    )

    body = assert_problem(response, 422, "validation_error")
    assert "file" in body["errors"]


def test_the_same_content_attached_twice_is_stored_once(ledger, session, world):
    content = pdf()
    first = attached(
        upload(ledger, f"/spending-requests/{world['request']['id']}/documents", "clerk", content)
    )
    second = attached(
        upload(
            ledger,
            f"/use-reports/{world['use_report']['id']}/documents",
            "treasurer",
            content,
            "same.pdf",
        )
    )

    assert first["id"] != second["id"] and first["sha256"] == second["sha256"]
    assert len(stored_files(world["dir"])) == 1
    assert ledger.raw("GET", f"/documents/{second['id']}/content", "clerk").data == content


def test_the_documents_table_is_append_only(app, ledger, session, world, backend):
    if backend != "postgresql":
        pytest.skip("triggers: PostgreSQL's own")
    attached(
        upload(ledger, f"/spending-requests/{world['request']['id']}/documents", "clerk", pdf())
    )
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        session.execute(sa.text("UPDATE documents SET name = 'other.pdf'"))
    session.rollback()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        session.execute(sa.text("DELETE FROM documents"))
    session.rollback()


def test_verify_passes_then_names_a_document_whose_file_was_altered(ledger, runner, world):
    path = f"/spending-requests/{world['request']['id']}/documents"
    kept = attached(upload(ledger, path, "clerk", pdf("Kept as it was.")))
    altered = attached(upload(ledger, path, "clerk", pdf("Altered on disk."), "bank.pdf"))

    passed = runner.invoke(args=["documents", "verify"])
    assert passed.exit_code == 0, passed.output
    assert "2 document(s) checked" in passed.output and "all agree with the record" in passed.output

    sha = altered["sha256"]
    stored = world["dir"] / sha[:2] / sha[2:4] / sha
    altered_bytes = bytearray(stored.read_bytes())
    altered_bytes[100] ^= 0x01  # one bit, the size unchanged
    stored.write_bytes(bytes(altered_bytes))

    failed = runner.invoke(args=["documents", "verify"])
    assert failed.exit_code == 1
    assert f"document {altered['id']} ('bank.pdf', sha256 {sha})" in failed.output
    assert "do not hash to its sha256" in failed.output
    assert f"document {kept['id']} " not in failed.output
    # Nor is it served as the document.
    refused = ledger.raw("GET", f"/documents/{altered['id']}/content", "auditor")
    assert_problem(refused, 409, "document_unavailable")

    stored.unlink()
    missing = runner.invoke(args=["documents", "verify"])
    assert missing.exit_code == 1
    assert (
        f"document {altered['id']} ('bank.pdf', sha256 {sha}): the file is missing"
        in missing.output
    )
