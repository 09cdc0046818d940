"""Users and tokens: who may call the API."""

from typing import Any

from flask import current_app
from flask.views import MethodView
from sqlalchemy import select

from ledger.api import Blueprint, PageArgs, page_of, paginate, problems
from ledger.auth import services
from ledger.auth.access import current_user, requires
from ledger.auth.models import ApiToken, User
from ledger.auth.schemas import NewTokenSchema, TokenSchema, UserCreateSchema, UserSchema
from ledger.db import db, get_or_404
from ledger.errors import Conflict, NotFound

blp = Blueprint("users", __name__, description="Users, roles and API tokens")


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    def get(self) -> User:
        """The caller: name, roles, institution, email address."""
        return get_or_404(db.session, User, current_user().id)


@blp.route("/users")
class Users(MethodView):
    @requires("admin")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(UserSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List users."""
        return paginate(db.session, select(User), User.id, args)

    @requires("admin")
    @problems(blp, Conflict)
    @blp.arguments(UserCreateSchema)
    @blp.response(201, NewTokenSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a user and a first token. The token is shown this once."""
        session = db.session
        user = services.create_user(session, current_user(), **data)
        value, token = services.create_token(
            session, current_user(), user, lifetime_days=current_app.config["TOKEN_LIFETIME_DAYS"]
        )
        return {"user": user, "token": value, "token_id": token.id}


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @requires("admin")
    @blp.response(200, UserSchema)
    def get(self, user_id: int) -> User:
        """One user."""
        return get_or_404(db.session, User, user_id)


@blp.route("/users/<int:user_id>/tokens")
class UserTokens(MethodView):
    @requires("admin")
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(TokenSchema))
    def get(self, args: dict[str, Any], user_id: int) -> dict[str, Any]:
        """A user's tokens (never their values)."""
        get_or_404(db.session, User, user_id)
        return paginate(
            db.session, select(ApiToken).where(ApiToken.user_id == user_id), ApiToken.id, args
        )

    @requires("admin")
    @blp.response(201, NewTokenSchema)
    def post(self, user_id: int) -> dict[str, Any]:
        """Issue a new token for a user (rotation: revoke the old one afterwards)."""
        session = db.session
        user = get_or_404(session, User, user_id)
        value, token = services.create_token(
            session, current_user(), user, lifetime_days=current_app.config["TOKEN_LIFETIME_DAYS"]
        )
        return {"user": user, "token": value, "token_id": token.id}


@blp.route("/tokens/<int:token_id>/revoke")
class RevokeToken(MethodView):
    @problems(blp, NotFound)
    @blp.response(200, TokenSchema)
    def post(self, token_id: int) -> ApiToken:
        """Revoke a token at once. Admins revoke any token; users their own."""
        return services.revoke_token(db.session, current_user(), token_id)
