"""The console: the same application, in a browser, for those who do not write
scripts (SPEC §8; issue 24). Server-rendered with Jinja; every page calls the same
services as the API, so no rule lives in a view or a template.

Sign-in is a session (Flask-Login): a password set through a one-time invitation
(``ledger.auth.passwords``), a cookie that is HttpOnly, SameSite=Lax and Secure
where served over HTTPS, signed out after ``CONSOLE_IDLE_MINUTES`` idle; every
form carries a CSRF token (Flask-WTF). API tokens keep working for scripts.

Interface text goes through Flask-Babel, in English and Arabic
(``translations/ar``; ``make translations`` extracts and compiles it); Arabic pages
are laid out right to left. The language is the one chosen in the console, else the
browser's, else English.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from flask import Flask, redirect, request, session, url_for
from flask_babel import Babel, gettext
from flask_login import LoginManager
from werkzeug.wrappers import Response

from ledger.auth.models import User
from ledger.db import db

# Pages may load the console's own style sheet and post their forms to the console.
CONSOLE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def N_(text: str) -> str:
    """Marks ``text`` for translation where it is translated later (pybabel's N_)."""
    return text


# The console's languages, the first the default; those written right to left.
LANGUAGES = {"en": "English", "ar": "العربية"}
RIGHT_TO_LEFT = frozenset({"ar"})
TRANSLATIONS = Path(__file__).parent / "translations"


def chosen_language() -> str:
    """The language chosen in the console, else the browser's best, else English."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES)) or "en"


class ConsoleUser:
    """The signed-in user as Flask-Login wants it: an id and the user's row."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = user.id
        self.name = user.name
        self.roles = user.roles

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)


def _secret_key(app: Flask) -> str:
    """SECRET_KEY from the config, or one made once for this instance (0600)."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def init_app(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app)
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(
        minutes=int(app.config["CONSOLE_IDLE_MINUTES"])
    )
    app.config["SESSION_REFRESH_EACH_REQUEST"] = True  # idle, not absolute, expiry

    Babel(
        app,
        locale_selector=chosen_language,
        default_translation_directories=str(TRANSLATIONS),
    )
    login = LoginManager(app)
    login.login_view = "console.sign_in"
    login.login_message = N_("Sign in to continue.")
    login.localize_callback = gettext

    @login.user_loader
    def _load(user_id: str) -> ConsoleUser | None:
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return ConsoleUser(user) if user is not None and user.active else None

    from ledger.console import (  # noqa: F401
        admin,
        audit,
        batches,
        clerk,
        committee,
        compliance,
        documents,
        notifications,
        treasury,
    )
    from ledger.console.views import bp

    app.register_blueprint(bp)

    @app.get("/")
    def _root() -> Response:
        return redirect(url_for("console.home"))
