"""The collector and the long-lived objects (ledger/ops/collector.py): frozen by the
production entry point, left as CPython makes them everywhere else."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.ops.collector import freeze_long_lived, refreeze
from ledger.screening import services

ROOT = Path(__file__).resolve().parents[2]


def collected(obj: object) -> bool:
    """Whether the collector's generations hold ``obj`` (the frozen ones are not in them)."""
    return any(o is obj for o in gc.get_objects())


@pytest.fixture
def thawed_after() -> Iterator[None]:
    """The test process freezes nothing; a test that does is undone."""
    assert gc.get_freeze_count() == 0
    yield
    gc.unfreeze()


def test_a_process_that_never_froze_is_left_alone(thawed_after: None) -> None:
    kept = [[n] for n in range(1_000)]
    refreeze()
    assert gc.get_freeze_count() == 0
    assert collected(kept)


def test_a_frozen_process_freezes_what_it_builds_to_keep(thawed_after: None) -> None:
    before = [[n] for n in range(1_000)]
    frozen = freeze_long_lived()
    assert frozen >= 1_000 and not collected(before)
    kept = [[n] for n in range(10_000)]
    assert collected(kept)
    refreeze()
    assert gc.get_freeze_count() >= frozen + 10_000
    assert not collected(kept) and not collected(kept[5_000])
    del before, kept  # still freed by reference counting: nothing leaks


def test_the_name_index_joins_the_frozen_objects(
    session, thawed_after: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "_cache", {})  # built anew, in this frozen process
    freeze_long_lived()
    index = services.name_index(session)
    assert not collected(index)


def test_the_name_index_is_left_to_the_collector_in_a_process_that_never_froze(
    session, thawed_after: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "_cache", {})
    index = services.name_index(session)
    assert collected(index) and gc.get_freeze_count() == 0


def test_the_production_entry_point_freezes_its_start_up_objects(tmp_path: Path) -> None:
    """``wsgi.py``, which gunicorn and ``flask --app wsgi`` import."""
    probe = "import gc, wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))"
    env = {**os.environ, "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    frozen, left = map(int, done.stdout.split())
    # The modules, mapped classes, schemas and routes: about 200,000 objects here.
    assert frozen > 100_000 and left < frozen / 10
