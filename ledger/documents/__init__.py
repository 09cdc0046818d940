"""Documents attached to the record (issue 26, item 3): contracts, invoices, bank
confirmations and narrative reports, attached to spending requests, tranche use
reports, votes and review cases.

A file is kept once, under the sha256 of its bytes (``store.py``: a directory, or
an S3-compatible bucket); the ``documents`` table (append-only) and the audit
chain record each attachment: which record, the file's sha256, name, size, type
and who attached it. ``flask --app wsgi documents verify`` checks every stored
file against them (docs/operations.md, "Documents").
"""
