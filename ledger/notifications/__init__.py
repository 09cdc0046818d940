"""Notifications (issue 26, item 2; SPEC §5a): signed webhooks and email, per each
user's choice, for a vote awaited, a request decided, a payment refused, a review
case opened or decided, a batch posted or stopped, a checkpoint signed.

The service that does the act calls ``services.notify`` in its own transaction:
one ``notifications`` row per recipient and channel, and a ``notification.deliver``
job for each (``ledger/jobs/handlers.py``), sent once the transaction commits.
Delivery (``services.deliver``) logs every attempt in ``notification_deliveries``
and, on a failure, sets the next attempt's time, when the job scheduler sends it
again. docs/operations.md, "Notifications", has the settings and the signature.
"""
