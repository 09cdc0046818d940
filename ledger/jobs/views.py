"""Jobs: what background work is doing (``GET /jobs/{id}`` is where a 202 points)."""

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from ledger.api import Blueprint, page_of, paginate, problems
from ledger.auth.access import requires
from ledger.db import db, get_or_404
from ledger.errors import NotFound
from ledger.funding.views import STAFF
from ledger.jobs.models import Job
from ledger.jobs.schemas import JobListArgs, JobSchema

blp = Blueprint("jobs", __name__, description="Background jobs: state, progress, errors")


@blp.route("/jobs")
class Jobs(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(JobListArgs, location="query")
    @blp.response(200, page_of(JobSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List jobs, by kind or state, oldest first."""
        stmt = select(Job)
        for key in ("kind", "state"):
            if key in args:
                stmt = stmt.where(getattr(Job, key) == args[key])
        return paginate(db.session, stmt, Job.id, args)


@blp.route("/jobs/<int:job_id>")
class JobById(MethodView):
    @requires(*STAFF, read=True)
    @problems(blp, NotFound)
    @blp.response(200, JobSchema)
    def get(self, job_id: int) -> Job:
        """A job: its state (queued, running, done, failed), progress as it last
        reported it, the last error and how many runs it took. A failed run is
        retried with backoff while ``state`` is ``queued``."""
        return get_or_404(db.session, Job, job_id)
