"""The cyclic garbage collector and the objects that live as long as the process.

An app server's process holds about 200,000 objects from its start to its end:
the modules, the mapped classes, the schemas, the routes, and, once something
was screened, the name index of the restricted-party lists (several hundred
thousand more). CPython's cyclic collector walks every one of them in each of
its full collections, and a full collection stops the process: 65 to 100 ms
here for the start-up objects alone, a pause that every request in flight
waits for, and the tail of the payment latency (docs/benchmarks.md).

``freeze_long_lived()`` moves what exists now into the collector's permanent
generation (``gc.freeze``), after a collection so that no garbage is kept with
it: a full collection then walks only what was made since. Frozen objects are
still freed by reference counting when their last reference goes; only a cycle
among them would stay until the process ends. The start-up objects live that long
anyway, and the name index holds no cycle (a dropped index leaves no cyclic
garbage: measured); what a request has in hand while the index is frozen with
it is kept, once per list version at most.

The production entry point (``wsgi.py``: gunicorn and the ``flask --app wsgi``
commands) freezes once the application is built; ``refreeze()`` then adds what
such a process builds to keep (the name index), and does nothing in a process
that never froze (the tests, a process that embeds ``create_app``), so that
their collections stay as CPython makes them.
"""

from __future__ import annotations

import gc


def freeze_long_lived() -> int:
    """Collect, then leave every object that exists now out of later collections;
    the number of objects frozen in all."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def refreeze() -> None:
    """In a process that froze its start-up objects, freeze what it built since
    to keep: call it right after building something long-lived and large."""
    if gc.get_freeze_count():
        freeze_long_lived()
