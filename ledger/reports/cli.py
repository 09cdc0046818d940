"""``flask --app wsgi report NAME``: every report from the command line."""

from __future__ import annotations

import datetime as dt
import getpass
import sys

import click
from flask.cli import with_appcontext

from ledger.db import db, get_or_404, sqlite_begin
from ledger.errors import LedgerError
from ledger.funding.models import Fund
from ledger.reports.formats import FORMATS, render
from ledger.reports.registry import REPORTS, ReportParams, build, report_names


@click.command("report")
@click.argument("name", required=False)
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--fund", "fund_id", type=int, default=None, help="The fund's id.")
@click.option("--format", "fmt", type=click.Choice([*FORMATS, "xml"]), default=None)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None)
@click.option("--by", "by", default=None, help="Who generates it (default: the OS user).")
@with_appcontext
def report_command(
    name: str | None,
    as_of: dt.datetime | None,
    fund_id: int | None,
    fmt: str | None,
    output: str | None,
    by: str | None,
) -> None:
    """Write report NAME (json, csv, xlsx or pdf; iati is XML) to --output or stdout.

    Without NAME, list the reports."""
    names = [*report_names(), "iati"]
    if name is None:
        for known in names:
            title = REPORTS[known].title if known in REPORTS else "IATI 2.03 activities (XML)"
            click.echo(f"{known:<32} {title}")
        return
    if name not in names:
        raise click.UsageError(f"no report named {name!r}; reports: {', '.join(names)}")
    date = as_of.date() if as_of else None
    sqlite_begin.set("BEGIN")  # a read: SQLite need not take the write lock
    body: bytes
    try:
        with db.transaction() as session:
            if name == "iati":
                if fmt not in (None, "xml"):
                    raise click.UsageError("the iati report is XML only")
                if fund_id is None:
                    raise click.UsageError("the iati report needs --fund")
                from ledger.reports.iati import iati_activities

                body = iati_activities(session, get_or_404(session, Fund, fund_id), date)
                target = output
            else:
                if fmt == "xml":
                    raise click.UsageError("xml is the iati report's format only")
                fmt = fmt or "json"
                params = ReportParams(fund_id, date, by or f"{getpass.getuser()} (cli)")
                click.echo(f"querying {name}…", err=True)
                data = build(session, name, params)
                with click.progressbar(
                    length=max(len(data.rows), 1), label=f"rendering {fmt}", file=sys.stderr
                ) as bar:
                    body = render(data, fmt, bar.update)
                target = None if output == "-" else output
    except LedgerError as exc:
        field = ", ".join(f"{k}: {'; '.join(v)}" for k, v in (exc.errors or {}).items())
        raise click.ClickException(exc.detail + (f" ({field})" if field else "")) from None
    if target is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        with open(target, "wb") as out:
            out.write(body)
        click.echo(f"wrote {target} ({len(body)} bytes)", err=True)
