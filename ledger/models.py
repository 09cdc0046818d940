"""Every model, imported once so that the metadata is complete (Alembic, tests)."""

from ledger.audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from ledger.auth.models import ApiToken, User, UserRole
from ledger.batches.models import Batch, BatchPayment, BatchRow
from ledger.committee.models import (
    ConflictDeclaration,
    RequestAmendment,
    SpendingRequest,
    Tranche,
    TrancheUseReport,
    Vote,
)
from ledger.compliance.models import Refusal, Restriction
from ledger.disbursements.models import Disbursement
from ledger.documents.models import Document
from ledger.funding.models import (
    Allocation,
    ClosedPeriod,
    Contribution,
    DisbursementAllocation,
    Donor,
    Fund,
    Pledge,
    PledgeAmendment,
)
from ledger.idempotency.models import IdempotencyKey
from ledger.jobs.models import Job
from ledger.journal.models import JournalEntry, JournalLine
from ledger.notifications.models import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
    WebhookEndpoint,
)
from ledger.payees.models import Payee, RelatedParty
from ledger.projects.models import Project
from ledger.screening.models import ReviewCase, WatchlistEntry, WatchlistVersion

__all__ = [
    "Allocation",
    "ApiToken",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "Batch",
    "BatchPayment",
    "BatchRow",
    "ClosedPeriod",
    "ConflictDeclaration",
    "Contribution",
    "Disbursement",
    "DisbursementAllocation",
    "Document",
    "Donor",
    "Fund",
    "IdempotencyKey",
    "Job",
    "JournalEntry",
    "JournalLine",
    "Notification",
    "NotificationDelivery",
    "NotificationPreference",
    "Payee",
    "Pledge",
    "PledgeAmendment",
    "Project",
    "Refusal",
    "RelatedParty",
    "RequestAmendment",
    "Restriction",
    "ReviewCase",
    "SpendingRequest",
    "Tranche",
    "TrancheUseReport",
    "User",
    "UserRole",
    "Vote",
    "WatchlistEntry",
    "WatchlistVersion",
    "WebhookEndpoint",
]
