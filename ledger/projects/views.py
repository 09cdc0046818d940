"""Projects: what the money is for."""

from typing import Any

from flask.views import MethodView
from sqlalchemy import select

from ledger.api import Blueprint, page_of, paginate, problems
from ledger.auth.access import current_user, requires
from ledger.db import db, get_or_404
from ledger.errors import Conflict, NotFound, ValidationFailed
from ledger.funding.models import Fund
from ledger.funding.views import STAFF
from ledger.money import Money, MoneyError
from ledger.projects.models import Project
from ledger.projects.schemas import ProjectCreateSchema, ProjectListArgs, ProjectSchema
from ledger.projects.services import create_project

blp = Blueprint("projects", __name__, description="Projects: sector, location, budget")


@blp.route("/projects")
class Projects(MethodView):
    @requires(*STAFF, read=True)
    @blp.arguments(ProjectListArgs, location="query")
    @blp.response(200, page_of(ProjectSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List projects, by fund, sector or location."""
        stmt = select(Project)
        for key in ("fund_id", "sector", "location"):
            if key in args:
                stmt = stmt.where(getattr(Project, key) == args[key])
        return paginate(db.session, stmt, Project.id, args)

    @requires("clerk")
    @problems(blp, NotFound, Conflict)
    @blp.arguments(ProjectCreateSchema)
    @blp.response(201, ProjectSchema)
    def post(self, data: dict[str, Any]) -> Project:
        """Create a project in a fund."""
        session = db.session
        fund = get_or_404(session, Fund, data["fund_id"])
        budget = None
        if data["budget"] is not None:
            try:
                budget = Money.parse(data["budget"], fund.base_currency)
            except MoneyError as exc:
                raise ValidationFailed("budget", str(exc)) from None
        return create_project(
            session,
            current_user(),
            fund_id=fund.id,
            name=data["name"],
            sector=data["sector"],
            location=data["location"],
            budget=budget,
        )


@blp.route("/projects/<int:project_id>")
class ProjectById(MethodView):
    @requires(*STAFF, read=True)
    @blp.response(200, ProjectSchema)
    def get(self, project_id: int) -> Project:
        """One project."""
        return get_or_404(db.session, Project, project_id)
