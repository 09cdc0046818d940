"""Operations commands, stable for scripts: ``flask --app wsgi db|users|tokens|demo|audit``
(and ``documents``, ``batches``, ``worker``, ``report`` from their packages)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from ledger.auth.models import ROLES, ApiToken, User
from ledger.db import db, sqlite_begin
from ledger.errors import LedgerError

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
users_cli = AppGroup("users", help="Users and their tokens.")
tokens_cli = AppGroup("tokens", help="API tokens.")
demo_cli = AppGroup("demo", help="Demo data from the 2021 Gaza scenario.")
audit_cli = AppGroup("audit", help="The audit trail.")
requests_cli = AppGroup("requests", help="Spending requests.")
watchlists_cli = AppGroup("watchlists", help="Sanctions lists and screening.")


@watchlists_cli.command("import")
@click.argument("source", type=click.Choice(["un", "ofac-sdn", "ofac-consolidated", "fund"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=True, path_type=Path))
def watchlists_import(source: str, path: Path) -> None:
    """Import PATH as a new version of SOURCE, then screen every payee again.

    PATH is the UN XML, the fund's CSV, or for OFAC a zip or a folder of the legacy
    CSV files. A malformed file is refused, naming the line or element."""
    from ledger.errors import ValidationFailed
    from ledger.screening.services import files_digest, import_watchlist, parse_source

    if path.is_dir():
        files = {p.name: p.read_bytes() for p in sorted(path.glob("*.csv"))}
    else:
        files = {path.name: path.read_bytes()}
    try:
        parsed = parse_source(source, files)
    except ValidationFailed as exc:
        raise click.ClickException(exc.detail) from None
    with db.transaction() as session:
        result = import_watchlist(session, None, source, parsed, files_digest(files))
        version = result["version"]
        click.echo(
            f"{source} version {version.number}: {version.entries} entries, "
            f"{version.added} added, {version.changed} changed, {version.removed} removed"
        )
        rescreen = result["rescreen"]
        click.echo(
            f"re-screened {rescreen['payees_screened']} payees: "
            f"{rescreen['cases_opened']} review case(s) opened, "
            f"{rescreen['delisting_cases']} delisting case(s)"
        )


@watchlists_cli.command("list")
def watchlists_list() -> None:
    """The imported versions of every list."""
    from ledger.screening.models import WatchlistVersion

    with db.transaction() as session:
        for v in session.scalars(select(WatchlistVersion).order_by(WatchlistVersion.id)):
            click.echo(
                f"{v.source}\tv{v.number}\t{v.imported_at:%Y-%m-%d %H:%M}\t{v.entries} entries"
                f"\t+{v.added} ~{v.changed} -{v.removed}"
            )


@requests_cli.command("expire")
def requests_expire() -> None:
    """Record every undecided request whose time is up as expired (run it daily)."""
    from ledger.committee.services import expire_due

    with db.transaction() as session:
        expired = expire_due(session)
    click.echo(f"expired {len(expired)} request(s)" + (f": {expired}" if expired else ""))


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the latest)."""
    from ledger.migrations import upgrade

    upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_cli.command("check")
def db_check() -> None:
    """Fail if the models and the migrations differ."""
    from ledger.migrations import check

    check(current_app.config["DATABASE_URL"])
    click.echo("models and migrations agree")


@users_cli.command("create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--institution", default=None, help="The member's institution (committee).")
@click.option("--chair", is_flag=True, help="The committee's chair.")
def users_create(name: str, roles: tuple[str, ...], institution: str | None, chair: bool) -> None:
    """Create a user; the new token is printed alone on the last line."""
    from ledger.auth.services import create_token, create_user

    if "committee_member" in roles and not institution:
        raise click.UsageError("a committee_member needs --institution")
    with db.transaction() as session:
        user = create_user(
            session, None, name=name, roles=list(roles), institution=institution, is_chair=chair
        )
        token, _row = create_token(
            session, None, user, lifetime_days=current_app.config["TOKEN_LIFETIME_DAYS"]
        )
        click.echo(f"created user {user.id} {user.name} roles={','.join(user.roles)}")
    click.echo(token)


@users_cli.command("invite")
@click.argument("name")
def users_invite(name: str) -> None:
    """A one-time link with which user NAME sets a console password; printed alone
    on the last line (valid INVITATION_HOURS; only its hash is kept)."""
    from ledger.auth.passwords import invitation_link, invite
    from ledger.errors import NotFound

    with db.transaction() as session:
        try:
            token = invite(session, None, user_name=name)
        except NotFound as exc:
            raise click.UsageError(exc.detail) from None
    click.echo(f"valid {current_app.config['INVITATION_HOURS']} hours, once:")
    click.echo(invitation_link(token))


@users_cli.command("list")
def users_list() -> None:
    """List users and their roles."""
    with db.transaction() as session:
        for user in session.scalars(select(User).order_by(User.id)):
            extra = f" institution={user.institution}" if user.institution else ""
            chair = " chair" if user.is_chair else ""
            click.echo(f"{user.id}\t{user.name}\t{','.join(user.roles)}{extra}{chair}")


@tokens_cli.command("issue")
@click.argument("name")
def tokens_issue(name: str) -> None:
    """Issue a new token for user NAME; printed alone on the last line."""
    from ledger.auth.services import create_token

    with db.transaction() as session:
        user = session.scalars(select(User).where(User.name == name)).first()
        if user is None:
            raise click.UsageError(f"no user named {name!r}")
        token, _row = create_token(
            session, None, user, lifetime_days=current_app.config["TOKEN_LIFETIME_DAYS"]
        )
    click.echo(token)


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def tokens_revoke(token_id: int) -> None:
    """Revoke token TOKEN_ID at once."""
    from ledger.audit.services import record, snapshot
    from ledger.db import utcnow

    with db.transaction() as session:
        token = session.get(ApiToken, token_id)
        if token is None:
            raise click.UsageError(f"no token {token_id}")
        if token.revoked_at is None:
            before = snapshot(token)
            token.revoked_at = utcnow()
            record(session, None, "token.revoked", token, before=before)
    click.echo(f"token {token_id} revoked")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only into a database with no fund yet.")
def demo_load(if_empty: bool) -> None:
    """Load the 2021 Gaza demo fund and print the demo users' tokens."""
    from ledger.demo import DEMO_TOKENS, demo_password, load_demo

    with db.transaction() as session:
        loaded = load_demo(session, current_app.extensions["ledger.quorum_policy"], if_empty)
    click.echo("demo data loaded" if loaded else "demo data already present")
    base = str(current_app.config["CONSOLE_BASE_URL"]).rstrip("/")
    click.echo(f"demo users: their API tokens, and their console passwords ({base}/):")
    for name, (token, roles) in DEMO_TOKENS.items():
        click.echo(f"  {name:<22} {roles:<34} {token:<26} {demo_password(name)}")


@audit_cli.command("verify")
@click.option(
    "--against",
    "against",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A JSON list of signed checkpoints, as GET /audit-events/checkpoints gives them.",
)
def audit_verify(against: Path | None) -> None:
    """Verify the audit chain; exit 1 and name the first broken event if it is broken.
    With --against, also that it agrees with every signed checkpoint in FILE (an
    edit with recomputed hashes, or a truncated tail, does not)."""
    from ledger.audit.checkpoints import parse_published, verify_against
    from ledger.audit.services import verify_chain

    sqlite_begin.set("BEGIN")
    with db.transaction() as session:
        report = verify_chain(session)
        click.echo(json.dumps(asdict(report), indent=2))
        if not report.valid:
            sys.exit(1)
        if against is None:
            return
        try:
            published = parse_published(against.read_text())
        except (ValueError, LedgerError) as exc:
            raise click.ClickException(f"{against}: {exc}") from None
        agreement = verify_against(session, published)
    click.echo(json.dumps(asdict(agreement), indent=2))
    if not agreement.agrees:
        sys.exit(1)


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain head now (a scheduler may run this every few minutes)."""
    from ledger.audit.checkpoints import as_published, sign_checkpoint

    try:
        with db.transaction() as session:
            checkpoint = sign_checkpoint(session, None, "on demand")
            published = as_published(checkpoint)
    except LedgerError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(json.dumps(published, indent=2))


@audit_cli.command("keygen")
@click.option("--if-missing", is_flag=True, help="Say so and succeed when the key exists.")
def audit_keygen(if_missing: bool) -> None:
    """Make the Ed25519 key that signs checkpoints (AUDIT_SIGNING_KEY_FILE), readable
    by its owner only. Keep it, and a copy, away from the database's administrators."""
    from ledger.audit.checkpoints import make_key_file

    configured = current_app.config.get("AUDIT_SIGNING_KEY_FILE")
    if not configured:
        raise click.ClickException("AUDIT_SIGNING_KEY_FILE is not set.")
    if make_key_file(Path(configured)):
        click.echo(f"audit signing key written to {configured}")
    elif if_missing:
        click.echo(f"audit signing key present at {configured}")
    else:
        raise click.ClickException(f"{configured} exists already; not overwritten.")


def init_app(app: Flask) -> None:
    for group in (
        db_cli,
        users_cli,
        tokens_cli,
        demo_cli,
        audit_cli,
        requests_cli,
        watchlists_cli,
    ):
        app.cli.add_command(group)
    from ledger.batches.cli import batches_cli
    from ledger.documents.cli import documents_cli
    from ledger.jobs.cli import worker_command
    from ledger.reports.cli import report_command

    app.cli.add_command(batches_cli)
    app.cli.add_command(documents_cli)
    app.cli.add_command(worker_command)

    app.cli.add_command(report_command)
