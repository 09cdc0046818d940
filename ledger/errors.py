"""Domain errors, each with its stable problem code and HTTP status (SPEC §5).

Services raise these; one handler (``ledger.problems``) turns them, and every
other error, into ``application/problem+json``. A class with ``refusal = True`` is
a refused attempt that compliance must be able to see later: the handler records
it (who, what, when, why, evidence) after rolling the request's work back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar


class LedgerError(Exception):
    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request refused"
    refusal: ClassVar[bool] = False

    def __init__(
        self,
        detail: str,
        *,
        errors: dict[str, list[str]] | None = None,
        evidence: dict[str, Any] | None = None,
        deferred: list[Callable[[Any], None]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.evidence = evidence or {}
        # Work that must survive the refusal (e.g. opening a review case for a hit
        # found at the moment of payment): run with the refusal's record, after the
        # refused work has rolled back.
        self.deferred = deferred or []
        self.extra = extra


class ValidationFailed(LedgerError):
    code = "validation_error"
    status = 422
    title = "The request is not valid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors={field: [message]})


class Unauthenticated(LedgerError):
    code = "unauthenticated"
    status = 401
    title = "Authentication required"


class Forbidden(LedgerError):
    code = "forbidden"
    status = 403
    title = "Not allowed for your role"


class SeparationOfDuties(LedgerError):
    code = "separation_of_duties"
    status = 403
    title = "Separation of duties"
    refusal = True


class ConflictOfInterest(LedgerError):
    code = "conflict_of_interest"
    status = 403
    title = "Recused: declared conflict of interest"
    refusal = True


class NotFound(LedgerError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(LedgerError):
    code = "conflict"
    status = 409
    title = "Conflict with the current state"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"
    status = 409
    title = "Not enough uncommitted cash"
    refusal = True


class ExceedsApproval(LedgerError):
    code = "exceeds_approval"
    status = 409
    title = "More than the approval has left"
    refusal = True


class ExceedsPledge(LedgerError):
    code = "exceeds_pledge"
    status = 409
    title = "More than the pledge has outstanding"


class NotApproved(LedgerError):
    code = "not_approved"
    status = 409
    title = "The request is not approved"
    refusal = True


class TrancheLocked(LedgerError):
    code = "tranche_locked"
    status = 409
    title = "The next tranche is not released yet"
    refusal = True


class NotPending(LedgerError):
    code = "not_pending"
    status = 409
    title = "The request is already decided"


class AlreadyVoted(LedgerError):
    code = "already_voted"
    status = 409
    title = "Already voted"


class PayeeRestricted(LedgerError):
    code = "payee_restricted"
    status = 409
    title = "The payee is restricted"
    refusal = True


class EarmarkViolation(LedgerError):
    code = "earmark_violation"
    status = 409
    title = "Outside the money's earmark"
    refusal = True


class AlreadyLifted(LedgerError):
    code = "already_lifted"
    status = 409
    title = "The restriction is already lifted"


class IdempotencyKeyMissing(LedgerError):
    code = "idempotency_key_required"
    status = 400
    title = "Idempotency-Key header required"


class IdempotencyKeyReused(LedgerError):
    code = "idempotency_key_reused"
    status = 422
    title = "Idempotency-Key reused with a different request"


class RequestInProgress(LedgerError):
    code = "request_in_progress"
    status = 409
    title = "A request with this Idempotency-Key is still in progress"


class PeriodClosed(LedgerError):
    code = "period_closed"
    status = 409
    title = "The period is closed"


class DatedBeforeApproval(LedgerError):
    """A payment is not dated before its request's approval (SPEC §3.12): as of an
    earlier date there was no commitment to pay from."""

    code = "dated_before_approval"
    status = 422
    title = "Payment dated before its approval"


class ReferenceInUse(LedgerError):
    """A bank reference pays once (SPEC §3.11): a disbursement's within its fund, a
    contribution's within its pledge, whatever the Idempotency-Key."""

    code = "reference_in_use"
    status = 409
    title = "Bank reference already used"
    refusal = True


class AlreadyReversed(LedgerError):
    code = "already_reversed"
    status = 409
    title = "Already reversed"


class ContributionCommitted(LedgerError):
    code = "contribution_committed"
    status = 409
    title = "The contribution's money is committed"


class DocumentRefused(LedgerError):
    """A file refused as a document: what is wrong is said of the field ``file``,
    and nothing is stored."""

    def __init__(self, message: str) -> None:
        super().__init__(f"file: {message}", errors={"file": [message]})


class DocumentTooLarge(DocumentRefused):
    code = "document_too_large"
    status = 413
    title = "The file is larger than documents may be"


class DocumentTypeRefused(DocumentRefused):
    code = "document_type_refused"
    status = 422
    title = "The file's content is not of an allowed type"


class DocumentNameRefused(DocumentRefused):
    code = "document_name_refused"
    status = 422
    title = "The file's name cannot be kept as it is"


class DocumentUnavailable(LedgerError):
    """The stored bytes of a document are missing, or no longer hash to its recorded
    sha256: they are not served (``flask --app wsgi documents verify`` names them)."""

    code = "document_unavailable"
    status = 409
    title = "The document's stored file is missing or altered"
