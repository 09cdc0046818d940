"""Two revisions of the payment path, measured in turns on one machine.

On a shared 2-core machine the speed of the CPU drifts by a third within minutes,
which swamps a change worth 5%: two runs of ``run.py`` minutes apart do not
compare. This script serves both revisions at once (each its own fresh PostgreSQL
database and gunicorn, 2 sync workers by default, as run.py) and drives them in alternating
slices with the payment load of ``run.py`` (8 wrk clients, ``disburse.lua``),
reading from ``/proc`` the CPU each payment cost each gunicorn and PostgreSQL.
It prints every slice and the medians.

    # A: the commit before, B: the working tree
    .venv/bin/python benchmarks/write_path/ab.py --base HEAD~1
    # one setting against another, on the same code
    .venv/bin/python benchmarks/write_path/ab.py --base HEAD --workers-a 3

Needs wrk (``apt install wrk``) and PostgreSQL (``--pg-url``). The base revision is
checked out in a temporary git worktree and removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve()
LUA = SCRIPT.with_name("disburse.lua")
GUNICORN = Path(sys.executable).with_name("gunicorn")


def setup_side(url: str, out: str) -> None:
    """In a child whose working directory is the revision's root: migrate, and
    approve one request per client, each to a payee of its own (as run.py does)."""
    sys.path.insert(0, os.getcwd())
    from ledger import create_app
    from ledger.migrations import upgrade
    from tests.factories import LedgerDriver

    upgrade(url)
    app = create_app({"DATABASE_URL": url, "LOG_LEVEL": "WARNING"})
    driver = LedgerDriver(app, app.test_client())
    world = driver.funded(received="40000000.00")
    fund_id, project_id = world["fund"]["id"], world["project"]["id"]
    ids = []
    for i in range(8):
        payee = world["payee"] if i == 0 else driver.payee(f"Al-Bina Contracting Company {i + 1}")
        req = driver.request(fund_id, project_id, payee["id"], "4000000.00")
        ids.append(driver.approve(req["id"])["id"])
    app.extensions["ledger.db"].engine.dispose()
    tokens = [driver.user(f"treasurer-{i + 1}", ["treasurer"]) for i in range(8)]
    Path(out).write_text(json.dumps({"tokens": tokens, "ids": ids}))


class Side:
    def __init__(
        self,
        name: str,
        root: Path,
        workers: int,
        extra: list[str],
        pg_url: str,
        tmp: Path,
        venv: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name, self.root, self.workers, self.extra = name, root, workers, extra
        self.env = env or {}
        self.gunicorn = Path(venv) / "bin" / "gunicorn" if venv else GUNICORN
        self.database = f"ledger_ab_{name.lower()}_{secrets.token_hex(3)}"
        self.pg_url = pg_url
        self.tmp = tmp
        from run import free_port  # not at the top: see load()

        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.slices: list[dict[str, float]] = []

    def url(self, driver: str = "postgresql+psycopg") -> str:
        url = sa.make_url(self.pg_url).set(drivername=driver, database=self.database)
        return url.render_as_string(hide_password=False)

    def start(self) -> None:
        psql(self.pg_url, f'CREATE DATABASE "{self.database}"')
        world_file = self.tmp / f"{self.name}.json"
        subprocess.run(
            [sys.executable, str(SCRIPT), "--setup", self.url(), str(world_file)],
            cwd=self.root,
            check=True,
            capture_output=True,
        )
        self.world = json.loads(world_file.read_text())
        env = {
            **os.environ,
            "LEDGER_DATABASE_URL": self.url("postgresql"),
            "LEDGER_LOG_LEVEL": "WARNING",
            **self.env,
        }
        log = (self.tmp / f"{self.name}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                *(str(self.gunicorn), "--bind", f"127.0.0.1:{self.port}"),
                *("--workers", str(self.workers), "--log-level", "warning", *self.extra),
                "wsgi:app",
            ],
            cwd=self.root,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.name} did not start")

    def load(self, seconds: int, record: bool = True) -> None:
        # run.py's reading of /proc (imported here: the --setup child must not
        # import this tree's ledger before the revision's own).
        from run import cpu_seconds

        assert self.proc is not None
        before = cpu_seconds(self.proc.pid)
        command = ["wrk", "-t8", "-c8", f"-d{seconds}s", "--timeout", "30s", "-s", str(LUA)]
        command += [f"http://127.0.0.1:{self.port}", "--", ",".join(self.world["tokens"])]
        command += [secrets.token_hex(4), *map(str, self.world["ids"])]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        after = cpu_seconds(self.proc.pid)
        result = json.loads(out.split("WRK_RESULT ", 1)[1].splitlines()[0])
        count = max(result["requests"], 1)
        if record:
            self.slices.append(
                {
                    "rps": result["requests"] / (result["duration_us"] / 1e6),
                    "p99_ms": result["p99_us"] / 1000,
                    "gunicorn_ms": (after["gunicorn"] - before["gunicorn"]) / count * 1e3,
                    "postgres_ms": (after["postgres"] - before["postgres"]) / count * 1e3,
                    "errors": result["not_201"] + result["socket_errors"],
                }
            )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        psql(self.pg_url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def psql(pg_url: str, sql: str) -> None:
    """``sql`` on the server's maintenance database, outside a transaction."""
    url = sa.make_url(pg_url).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(
        url.set(database=url.database or "postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
    )
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="HEAD", help="git revision served as A")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=6, help="length of one slice")
    parser.add_argument(
        "--warmup", type=int, default=5, help="seconds of load per side before the slices"
    )
    parser.add_argument("--workers-a", type=int, default=2)
    parser.add_argument("--workers-b", type=int, default=2)
    parser.add_argument(
        "--gunicorn-a", default="", help='more gunicorn options for A, e.g. "--threads 2"'
    )
    parser.add_argument("--gunicorn-b", default="", help="more gunicorn options for B")
    parser.add_argument(
        "--venv-a", help="a virtual environment whose gunicorn (and Python) serves A"
    )
    parser.add_argument("--venv-b", help="the same for B (default: this script's own)")
    parser.add_argument(
        "--env-a",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable for A's gunicorn, e.g. LEDGER_LOG_LEVEL=INFO",
    )
    parser.add_argument("--env-b", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", "postgresql://127.0.0.1:5432/"),
    )
    parser.add_argument("--setup", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        setup_side(*args.setup)
        return 0
    if not shutil.which("wrk"):
        print("wrk is needed: apt install wrk")
        return 1

    with tempfile.TemporaryDirectory(prefix="ledger_ab_") as tmpdir:
        tmp = Path(tmpdir)
        base_root = tmp / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base_root), args.base],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        settings = (
            ("A", base_root, args.workers_a, args.gunicorn_a, args.venv_a, args.env_a),
            ("B", ROOT, args.workers_b, args.gunicorn_b, args.venv_b, args.env_b),
        )
        sides = [
            Side(
                name,
                root,
                workers,
                gunicorn.split(),
                args.pg_url,
                tmp,
                venv,
                dict(e.split("=", 1) for e in env),
            )
            for name, root, workers, gunicorn, venv, env in settings
        ]
        try:
            for side in sides:
                side.start()
            for side in sides:
                side.load(args.warmup, record=False)  # each worker builds its name index
            for r in range(args.rounds):
                for side in sides if r % 2 == 0 else sides[::-1]:
                    side.load(args.seconds)
                    s = side.slices[-1]
                    print(
                        f"{side.name}: {s['rps']:6.1f}/s  p99 {s['p99_ms']:5.1f} ms  CPU per "
                        f"payment: gunicorn {s['gunicorn_ms']:.2f} ms, PostgreSQL "
                        f"{s['postgres_ms']:.2f} ms  errors {s['errors']:.0f}",
                        flush=True,
                    )
        finally:
            for side in sides:
                side.stop()
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(base_root)], cwd=ROOT, check=False
            )
    print(
        f"\nA = {args.base} ({args.workers_a} workers {args.gunicorn_a} {args.venv_a or ''} "
        f"{' '.join(args.env_a)}), B = working tree ({args.workers_b} {args.gunicorn_b} "
        f"{args.venv_b or ''} {' '.join(args.env_b)})"
    )
    for side in sides:
        med: dict[str, Any] = {
            k: statistics.median(s[k] for s in side.slices) for k in side.slices[0]
        }
        print(
            f"{side.name} median: {med['rps']:6.1f}/s  p99 {med['p99_ms']:5.1f} ms  gunicorn "
            f"{med['gunicorn_ms']:.2f} ms  PostgreSQL {med['postgres_ms']:.2f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
