"""Documents on the console (issue 26, item 3): the request page lists what is
attached to the request, its use reports and its votes; a clerk or a treasurer
attaches a file there (with the CSRF token), and anyone who reads the request
downloads it, byte for byte, through the same services as the API."""

from __future__ import annotations

import hashlib
import io

from tests.console.test_committee_pages import as_member
from tests.console.test_sign_in import csrf, sign_in
from tests.documents.conftest import pdf, stored_files

AUDITOR = {"Authorization": "Bearer demo-auditor-token"}


def attach(client, request_id, content, name, content_type="application/pdf"):  # type: ignore[no-untyped-def]
    page = client.get(f"/console/requests/{request_id}")
    return client.post(
        f"/console/requests/{request_id}/documents",
        data={"csrf_token": csrf(page.data), "file": (io.BytesIO(content), name, content_type)},
        content_type="multipart/form-data",
    )


def test_a_clerk_attaches_a_file_and_a_member_downloads_it(app, runner, client, documents_dir):
    as_member(runner, client, "clerk")
    page = client.get("/console/requests/4").data.decode()
    assert "No document attached." in page and "Attach to the request" in page
    content = pdf("Quotation for clinic equipment.")

    attached = attach(client, 4, content, "quotation.pdf")

    assert attached.status_code == 302, attached.data[:500]
    page = client.get("/console/requests/4").data.decode()
    assert "quotation.pdf is attached to the request." in page
    listed = client.get("/api/v1/spending-requests/4/documents", headers=AUDITOR).get_json()
    document = listed["items"][0]
    assert document["sha256"] == hashlib.sha256(content).hexdigest()
    assert f'href="/console/documents/{document["id"]}"' in page
    assert len(stored_files(documents_dir)) == 1

    member = app.test_client()
    assert sign_in(member, "member-un", "demo-member-un-password").status_code == 302
    page = member.get("/console/requests/4").data.decode()
    assert "quotation.pdf" in page and "the request" in page
    assert "Attach to the request" not in page  # members attach to their own votes only
    download = member.get(f"/console/documents/{document['id']}")
    assert download.status_code == 200
    assert download.data == content
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"] == "attachment; filename=quotation.pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_a_refused_file_shows_the_services_reason_and_keeps_nothing(runner, client, documents_dir):
    as_member(runner, client, "treasurer")
    html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"

    refused = attach(client, 4, html, "invoice.pdf")

    assert refused.status_code == 422
    assert b"The content is text/html, which is not an allowed type" in refused.data
    assert stored_files(documents_dir) == []
    listed = client.get("/api/v1/spending-requests/4/documents", headers=AUDITOR).get_json()
    assert listed["items"] == []
    empty = client.post(
        "/console/requests/4/documents",
        data={"csrf_token": csrf(client.get("/console/requests/4").data)},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 422 and b"Choose a file." in empty.data


def test_the_upload_needs_the_csrf_token(runner, client, documents_dir):
    as_member(runner, client, "clerk")

    forged = client.post(
        "/console/requests/4/documents",
        data={"file": (io.BytesIO(pdf()), "contract.pdf", "application/pdf")},
        content_type="multipart/form-data",
    )

    assert forged.status_code == 422
    assert stored_files(documents_dir) == []


def test_a_member_may_not_attach_to_a_request_on_the_console(runner, client, documents_dir):
    as_member(runner, client, "member-un")

    refused = attach(client, 4, pdf(), "contract.pdf")

    assert refused.status_code == 403
