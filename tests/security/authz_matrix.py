"""The authorization matrix: every route, and who may call it.

This table is the specification; ``test_authorization_matrix.py`` checks it
exhaustively against the running application (every route, every role, anonymous,
an expired token and a revoked token), and checks that it names every route the
application has, so a new route cannot ship without a line here.
``docs/security.md`` shows it, rendered by ``render_markdown()``; after changing
the table, rewrite that section with::

    .venv/bin/python -m tests.security.authz_matrix
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROLES = ("admin", "clerk", "committee_member", "treasurer", "compliance", "auditor")

# Who may pass the door; what a caller may then do is further limited by the
# rules of the operation (separation of duties, own tokens only, ...).
PUBLIC = frozenset({"anonymous", *ROLES})  # no token needed
AUTHENTICATED = frozenset(ROLES)  # any valid token
EVERYONE = frozenset(ROLES)  # every role reads the fund's records
OVERSIGHT = frozenset({"admin", "treasurer", "compliance", "auditor"})
AUDIT = frozenset({"admin", "compliance", "auditor"})


def only(*roles: str) -> frozenset[str]:
    return frozenset(roles)


MATRIX: dict[tuple[str, str], frozenset[str]] = {
    # ----------------------------------------------------------- public
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("GET", "/api/v1/docs"): PUBLIC,
    ("GET", "/api/v1/docs/assets/<path:filename>"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/static/<path:filename>"): PUBLIC,
    # ----------------------------------------------------------- the console
    # Its pages open to a signed-in session (a password), not to an API token; at
    # the token's door they are public (a presented token must still be valid).
    ("GET", "/"): PUBLIC,
    ("GET", "/console/"): PUBLIC,
    ("GET", "/console/sign-in"): PUBLIC,
    ("POST", "/console/sign-in"): PUBLIC,
    ("POST", "/console/sign-out"): PUBLIC,
    ("GET", "/console/language/<code>"): PUBLIC,
    ("GET", "/console/invitations/<token>"): PUBLIC,
    ("POST", "/console/invitations/<token>"): PUBLIC,
    ("GET", "/console/static/<path:filename>"): PUBLIC,
    ("GET", "/console/queue"): PUBLIC,
    ("GET", "/console/requests/<int:request_id>"): PUBLIC,
    ("POST", "/console/requests/<int:request_id>/vote"): PUBLIC,
    ("GET", "/console/payments"): PUBLIC,
    ("GET", "/console/review-cases"): PUBLIC,
    ("POST", "/console/review-cases/decide"): PUBLIC,
    ("GET", "/console/requests/<int:request_id>/pay"): PUBLIC,
    ("POST", "/console/requests/<int:request_id>/pay"): PUBLIC,
    ("GET", "/console/users"): PUBLIC,
    ("POST", "/console/users"): PUBLIC,
    ("GET", "/console/users/<int:user_id>"): PUBLIC,
    ("POST", "/console/users/<int:user_id>/invite"): PUBLIC,
    ("POST", "/console/users/<int:user_id>/tokens"): PUBLIC,
    ("POST", "/console/tokens/<int:token_id>/revoke"): PUBLIC,
    ("GET", "/console/requests"): PUBLIC,
    ("GET", "/console/requests/new"): PUBLIC,
    ("POST", "/console/requests/new"): PUBLIC,
    ("GET", "/console/batches"): PUBLIC,
    ("GET", "/console/batches/<int:batch_id>"): PUBLIC,
    ("POST", "/console/batches/<int:batch_id>/post"): PUBLIC,
    ("GET", "/console/funds"): PUBLIC,
    ("GET", "/console/funds/<int:fund_id>"): PUBLIC,
    ("GET", "/console/funds/<int:fund_id>/charts/<name>.svg"): PUBLIC,
    ("GET", "/console/funds/<int:fund_id>/reports/<name>.<any(json, csv, xlsx, pdf):fmt>"): PUBLIC,
    ("GET", "/console/audit"): PUBLIC,
    ("POST", "/console/review-cases/clearances/<int:clearance_id>/approve"): PUBLIC,
    ("GET", "/console/payees/<int:payee_id>"): PUBLIC,
    ("POST", "/console/payees/<int:payee_id>/restrict"): PUBLIC,
    ("GET", "/console/restrictions"): PUBLIC,
    ("POST", "/console/restrictions/<int:restriction_id>/lift"): PUBLIC,
    ("GET", "/console/refusals"): PUBLIC,
    ("GET", "/console/refusals/<int:refusal_id>"): PUBLIC,
    ("GET", "/console/watchlists"): PUBLIC,
    ("GET", "/console/watchlists/versions/<int:version_id>"): PUBLIC,
    ("GET", "/console/notifications"): PUBLIC,
    ("POST", "/console/notifications/preferences"): PUBLIC,
    ("POST", "/console/notifications/webhooks"): PUBLIC,
    ("POST", "/console/notifications/webhooks/<int:webhook_id>/disable"): PUBLIC,
    ("POST", "/console/requests/<int:request_id>/documents"): PUBLIC,
    ("GET", "/console/documents/<int:document_id>"): PUBLIC,
    # ----------------------------------------------------------- users and tokens
    ("GET", "/api/v1/me"): AUTHENTICATED,
    ("GET", "/api/v1/users"): only("admin"),
    ("POST", "/api/v1/users"): only("admin"),
    ("GET", "/api/v1/users/<int:user_id>"): only("admin"),
    ("GET", "/api/v1/users/<int:user_id>/tokens"): only("admin"),
    ("POST", "/api/v1/users/<int:user_id>/tokens"): only("admin"),
    # Any user may revoke their own token; only an admin another's.
    ("POST", "/api/v1/tokens/<int:token_id>/revoke"): AUTHENTICATED,
    # ----------------------------------------------------------- funding
    ("GET", "/api/v1/funds"): EVERYONE,
    ("POST", "/api/v1/funds"): only("admin"),
    ("GET", "/api/v1/funds/<int:fund_id>"): EVERYONE,
    ("GET", "/api/v1/funds/<int:fund_id>/periods"): EVERYONE,
    ("POST", "/api/v1/funds/<int:fund_id>/periods"): only("treasurer"),
    ("GET", "/api/v1/donors"): EVERYONE,
    ("POST", "/api/v1/donors"): only("clerk"),
    ("GET", "/api/v1/donors/<int:donor_id>"): EVERYONE,
    ("GET", "/api/v1/pledges"): EVERYONE,
    ("POST", "/api/v1/pledges"): only("clerk"),
    ("GET", "/api/v1/pledges/<int:pledge_id>"): EVERYONE,
    ("POST", "/api/v1/pledges/<int:pledge_id>/amend"): only("clerk"),
    ("POST", "/api/v1/pledges/<int:pledge_id>/cancel"): only("clerk"),
    ("GET", "/api/v1/pledges/<int:pledge_id>/amendments"): EVERYONE,
    ("GET", "/api/v1/pledges/<int:pledge_id>/contributions"): EVERYONE,
    ("POST", "/api/v1/pledges/<int:pledge_id>/contributions"): only("treasurer"),
    ("GET", "/api/v1/contributions"): EVERYONE,
    ("GET", "/api/v1/contributions/<int:contribution_id>"): EVERYONE,
    ("POST", "/api/v1/contributions/<int:contribution_id>/reverse"): only("treasurer"),
    # ----------------------------------------------------------- projects and payees
    ("GET", "/api/v1/projects"): EVERYONE,
    ("POST", "/api/v1/projects"): only("clerk"),
    ("GET", "/api/v1/projects/<int:project_id>"): EVERYONE,
    ("GET", "/api/v1/payees"): EVERYONE,
    ("POST", "/api/v1/payees"): only("clerk"),
    ("GET", "/api/v1/payees/<int:payee_id>"): EVERYONE,
    ("PATCH", "/api/v1/payees/<int:payee_id>"): only("clerk"),
    ("POST", "/api/v1/payees/<int:payee_id>/related-parties"): only("clerk"),
    # ----------------------------------------------------------- compliance
    ("GET", "/api/v1/payees/<int:payee_id>/restrictions"): EVERYONE,
    ("POST", "/api/v1/payees/<int:payee_id>/restrictions"): only("compliance"),
    ("GET", "/api/v1/restrictions"): EVERYONE,
    ("GET", "/api/v1/restrictions/<int:restriction_id>"): EVERYONE,
    ("POST", "/api/v1/restrictions/<int:restriction_id>/lift"): only("compliance"),
    ("GET", "/api/v1/refusals"): OVERSIGHT,
    ("GET", "/api/v1/refusals/<int:refusal_id>"): OVERSIGHT,
    # ----------------------------------------------------------- screening
    ("GET", "/api/v1/watchlists"): EVERYONE,
    ("GET", "/api/v1/watchlists/<source>/versions"): EVERYONE,
    ("POST", "/api/v1/watchlists/<source>/versions"): only("compliance"),
    ("GET", "/api/v1/watchlist-entries"): EVERYONE,
    ("GET", "/api/v1/watchlist-entries/<int:entry_id>"): EVERYONE,
    ("POST", "/api/v1/screening/check"): only("clerk", "compliance"),
    ("GET", "/api/v1/review-cases"): OVERSIGHT,
    ("GET", "/api/v1/review-cases/<int:case_id>"): OVERSIGHT,
    ("POST", "/api/v1/review-cases/<int:case_id>/clear"): only("compliance"),
    ("POST", "/api/v1/review-cases/<int:case_id>/confirm"): only("compliance"),
    ("GET", "/api/v1/review-case-groups"): only("compliance", "admin", "auditor"),
    ("POST", "/api/v1/review-case-groups/clear"): only("compliance"),
    ("POST", "/api/v1/review-case-groups/confirm"): only("compliance"),
    ("POST", "/api/v1/review-case-groups/clearances/<int:clearance_id>/approve"): only(
        "compliance"
    ),
    # ----------------------------------------------------------- committee
    ("GET", "/api/v1/spending-requests"): EVERYONE,
    ("POST", "/api/v1/spending-requests"): only("clerk"),
    ("GET", "/api/v1/spending-requests/<int:request_id>"): EVERYONE,
    ("GET", "/api/v1/spending-requests/<int:request_id>/votes"): EVERYONE,
    ("POST", "/api/v1/spending-requests/<int:request_id>/votes"): only("committee_member"),
    ("POST", "/api/v1/spending-requests/<int:request_id>/withdraw"): only("clerk"),
    ("POST", "/api/v1/spending-requests/<int:request_id>/decrease"): only("clerk", "treasurer"),
    ("POST", "/api/v1/spending-requests/<int:request_id>/cancel"): only("clerk", "treasurer"),
    ("GET", "/api/v1/spending-requests/<int:request_id>/amendments"): EVERYONE,
    (
        "POST",
        "/api/v1/spending-requests/<int:request_id>/tranches/<int:seq>/use-reports",
    ): only("clerk", "treasurer"),
    ("GET", "/api/v1/spending-requests/<int:request_id>/use-reports"): EVERYONE,
    ("POST", "/api/v1/use-reports/<int:report_id>/accept"): only("treasurer", "compliance"),
    ("POST", "/api/v1/use-reports/<int:report_id>/reject"): only("treasurer", "compliance"),
    ("GET", "/api/v1/committee/queue"): only("committee_member"),
    ("GET", "/api/v1/committee/conflicts"): only(
        "committee_member", "compliance", "admin", "auditor"
    ),
    ("POST", "/api/v1/committee/conflicts"): only("committee_member"),
    (
        "POST",
        "/api/v1/committee/conflicts/<int:declaration_id>/withdraw",
    ): only("committee_member"),
    # ----------------------------------------------------------- money out, books, audit
    ("GET", "/api/v1/disbursements"): EVERYONE,
    ("POST", "/api/v1/disbursements"): only("treasurer"),
    ("GET", "/api/v1/disbursements/<int:disbursement_id>"): EVERYONE,
    ("POST", "/api/v1/disbursements/<int:disbursement_id>/reverse"): only("treasurer"),
    ("GET", "/api/v1/batches"): EVERYONE,
    ("POST", "/api/v1/batches"): only("clerk"),
    ("GET", "/api/v1/batches/<int:batch_id>"): EVERYONE,
    ("GET", "/api/v1/batches/<int:batch_id>/rows"): EVERYONE,
    ("POST", "/api/v1/batches/<int:batch_id>/post"): only("treasurer"),
    # ----------------------------------------------------------- documents
    # Attached by the roles that act on the record (a member: on their own vote
    # only); read by whoever reads the record. GET /documents/{id}: the door is
    # every reader of some record; the document's own record then decides.
    ("GET", "/api/v1/spending-requests/<int:request_id>/documents"): EVERYONE,
    ("POST", "/api/v1/spending-requests/<int:request_id>/documents"): only("clerk", "treasurer"),
    ("GET", "/api/v1/use-reports/<int:report_id>/documents"): EVERYONE,
    ("POST", "/api/v1/use-reports/<int:report_id>/documents"): only("clerk", "treasurer"),
    ("GET", "/api/v1/votes/<int:vote_id>/documents"): EVERYONE,
    ("POST", "/api/v1/votes/<int:vote_id>/documents"): only("committee_member"),
    ("GET", "/api/v1/review-cases/<int:case_id>/documents"): OVERSIGHT,
    ("POST", "/api/v1/review-cases/<int:case_id>/documents"): only("compliance"),
    ("GET", "/api/v1/documents/<int:document_id>"): EVERYONE,
    ("GET", "/api/v1/documents/<int:document_id>/content"): EVERYONE,
    # ----------------------------------------------------------- jobs
    # Whoever may read what started a job (a batch, a list) may follow it.
    ("GET", "/api/v1/jobs"): EVERYONE,
    ("GET", "/api/v1/jobs/<int:job_id>"): EVERYONE,
    # ----------------------------------------------------------- notifications
    # Each user their own notifications, choices and webhooks; deliveries: admins.
    ("GET", "/api/v1/notifications"): AUTHENTICATED,
    ("GET", "/api/v1/notifications/deliveries"): only("admin"),
    ("GET", "/api/v1/me/notification-preferences"): AUTHENTICATED,
    ("PUT", "/api/v1/me/notification-preferences"): AUTHENTICATED,
    ("GET", "/api/v1/me/webhooks"): AUTHENTICATED,
    ("POST", "/api/v1/me/webhooks"): AUTHENTICATED,
    ("POST", "/api/v1/me/webhooks/<int:webhook_id>/disable"): AUTHENTICATED,
    ("GET", "/api/v1/journal/entries"): OVERSIGHT,
    ("GET", "/api/v1/journal/entries/<int:entry_id>"): OVERSIGHT,
    ("GET", "/api/v1/reports/available"): EVERYONE,
    ("GET", "/api/v1/reports"): OVERSIGHT,
    ("GET", "/api/v1/reports/<string:name>"): OVERSIGHT,
    ("GET", "/api/v1/reports/decisions"): OVERSIGHT,
    ("GET", "/api/v1/reports/donor-trace"): OVERSIGHT,
    ("GET", "/api/v1/reports/iati"): OVERSIGHT,
    ("GET", "/api/v1/reports/fund-position"): OVERSIGHT,
    ("GET", "/api/v1/reports/trial-balance"): OVERSIGHT,
    ("GET", "/api/v1/audit-events"): AUDIT,
    ("GET", "/api/v1/audit-events/verify"): AUDIT,
    ("GET", "/api/v1/audit-events/checkpoints"): AUDIT,
    ("GET", "/api/v1/audit-events/<int:event_id>"): AUDIT,
}

COLUMNS = ("anonymous", *ROLES)
BEGIN = "<!-- authz-matrix:begin (generated by tests/security/authz_matrix.py) -->"
END = "<!-- authz-matrix:end -->"
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
SECURITY_MD = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def render_markdown() -> str:
    """The matrix as a Markdown table: one row per route, one column per caller."""
    header = "| method | route | " + " | ".join(c.replace("_", " ") for c in COLUMNS) + " |"
    lines = [header, "|---|---|" + "---|" * len(COLUMNS)]
    for (method, rule), allowed in MATRIX.items():
        cells = " | ".join("yes" if c in allowed else "no" for c in COLUMNS)
        path = _PARAM.sub(r"{\1}", rule)
        lines.append(f"| {method} | `{path}` | {cells} |")
    lines.append("")
    lines.append(
        "An expired or revoked token is refused (401 `unauthenticated`) on every route, "
        "public ones included, whatever its user's roles: a token that is presented "
        "must be valid."
    )
    return "\n".join(lines)


def section_in_docs(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip()


def write_docs() -> None:
    text = SECURITY_MD.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    SECURITY_MD.write_text(text[:start] + "\n" + render_markdown() + "\n" + text[end:])


if __name__ == "__main__":
    write_docs()
    sys.stdout.write(f"rewrote the matrix in {SECURITY_MD}\n")
