"""The production entry point: ``gunicorn wsgi:app``, ``flask --app wsgi …``."""

from ledger import create_app
from ledger.ops.collector import freeze_long_lived

app = create_app()

# What the application holds from now on lives as long as the process: left out
# of the garbage collector's full collections, which otherwise walk all of it
# (ledger/ops/collector.py).
freeze_long_lived()
