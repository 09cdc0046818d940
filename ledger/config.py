"""Settings: defaults here, then a TOML file in ``config/``, then ``LEDGER_*`` variables."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "config"


class Defaults:
    DATABASE_URL: str | None = None  # the SQLite file under instance/ unless set
    QUORUM_POLICY_FILE = "quorum.toml"
    REQUEST_EXPIRY_DAYS = 30
    DEFAULT_PAGE_SIZE = 50
    MAX_PAGE_SIZE = 500
    TOKEN_LIFETIME_DAYS = 365
    # Tranche n+1 is released once accepted use of tranche n reaches this share.
    TRANCHE_RELEASE_SHARE = "0.70"
    # score_names(a, b) >= this opens a review case (docs/screening.md).
    SCREENING_REVIEW_THRESHOLD = "0.80"
    # Processes that screen a batch's names (0: one per CPU; 1: in the request's own).
    SCREENING_WORKERS = 0
    # A group of review cases larger than this is cleared only once a second
    # compliance officer approves (ledger/screening/triage.py).
    TRIAGE_SECOND_OFFICER_ABOVE = 25
    # The console (ledger/console): sessions signed with SECRET_KEY (set it, or a key
    # is made once in instance/secret_key); signed out after this many idle minutes.
    SECRET_KEY: str | None = None
    CONSOLE_IDLE_MINUTES = 30
    # Where the console is reached, for the links the CLI prints (invitations).
    CONSOLE_BASE_URL = "http://127.0.0.1:5000"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # set true where the console is served over HTTPS
    # Console passwords (ledger/auth/passwords.py).
    INVITATION_HOURS = 72
    PASSWORD_MIN_LENGTH = 12
    SIGN_IN_MAX_FAILURES = 5
    SIGN_IN_LOCKOUT_MINUTES = 15
    # Request bodies larger than this are refused with 413 payload_too_large.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    # Logs: "json" (one object per line, with the request id) or "text".
    LOG_LEVEL = "INFO"
    LOG_FORMAT = "json"
    # Failed authentications allowed per client address (ledger/ops/ratelimit.py);
    # "memory://" counts per process, "redis://host:6379" across servers.
    # The Ed25519 key that signs the audit chain's checkpoints, kept outside the
    # database: a PEM file (default, outside tests: instance/audit-signing-key.pem,
    # made by `flask --app wsgi audit keygen`), or its PEM text in AUDIT_SIGNING_KEY
    # (LEDGER_AUDIT_SIGNING_KEY). docs/security.md.
    AUDIT_SIGNING_KEY_FILE: str | None = None
    AUDIT_SIGNING_KEY: str | None = None
    # Value dates the books hold (journal.services.assert_value_date_sane): from a
    # fixed lower bound to a horizon after today.
    VALUE_DATE_EARLIEST = "2000-01-01"
    VALUE_DATE_HORIZON_DAYS = 31
    AUTH_FAILURE_LIMIT = "20 per minute"
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client;
    # from anyone else the header is ignored (ledger/ops/ratelimit.py).
    TRUSTED_PROXIES: tuple[str, ...] = ()
    RATELIMIT_STORAGE_URI = "memory://"

    # Background jobs (ledger/jobs; docs/architecture.md, "Jobs"). The broker:
    # "amqp://user:password@host:5672/vhost" (RabbitMQ) or "redis://host:6379/0"; the
    # application sends jobs there and `flask --app wsgi worker` runs them. Unset: the
    # serving process runs them itself, in JOBS_THREADS threads (`make run`).
    JOBS_BROKER_URL: str | None = None
    JOBS_QUEUE = "ledger"
    # The tests: a job runs in the thread that commits it, right after the commit.
    JOBS_INLINE = False
    JOBS_THREADS = 2
    # A job that fails on something other than a rule of the ledger is run again,
    # after 15 s, 30 s, 60 s … (at most JOBS_MAX_BACKOFF_SECONDS), this many times.
    JOBS_MAX_RETRIES = 8
    JOBS_MIN_BACKOFF_SECONDS = 15
    JOBS_MAX_BACKOFF_SECONDS = 3600
    # A run longer than this is interrupted and retried (it resumes where it was).
    JOBS_TIME_LIMIT_SECONDS = 3600
    # Workers enqueue the scheduled jobs, once per period (seconds; 0: never).
    JOBS_SCHEDULE = True
    JOBS_EXPIRE_REQUESTS_EVERY = 3600
    JOBS_SIGN_CHECKPOINT_EVERY = 86400
    JOBS_SCHEDULER_TICK_SECONDS = 30
    # A job still queued this long after its message went out is sent again.
    JOBS_RESEND_AFTER_SECONDS = 300
    # Payees re-screened per transaction after a list import.
    JOBS_RESCREEN_CHUNK = 1000
    BATCH_CHUNK_SIZE = 1000

    # Notifications (ledger/notifications; docs/operations.md, "Notifications").
    # Email goes through this SMTP server; unset, no email is sent (webhooks still are).
    SMTP_HOST: str | None = None
    SMTP_PORT = 25
    SMTP_FROM = "ledger@localhost"
    SMTP_STARTTLS = False
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_TIMEOUT_SECONDS = 10
    # A webhook's receiver must answer 2xx within this many seconds.
    WEBHOOK_TIMEOUT_SECONDS = 5
    # The hosts webhooks may be sent to (empty: any); a URL naming another host is
    # refused, and a delivery to one is cancelled.
    WEBHOOK_ALLOWED_HOSTS: tuple[str, ...] = ()
    # A failed delivery is tried again after 30 s, 60 s, 120 s … (at most the
    # maximum), until this many attempts have failed; then it is given up.
    NOTIFY_RETRY_MIN_SECONDS = 30
    NOTIFY_RETRY_MAX_SECONDS = 6 * 3600
    NOTIFY_MAX_ATTEMPTS = 10
    # Documents attached to records (ledger/documents; docs/operations.md, "Documents").
    # The largest file accepted, in bytes, and the types accepted, as read from the
    # content (libmagic): PDF, PNG, JPEG, plain text, CSV, XLSX, DOCX.
    DOCUMENTS_MAX_BYTES = 20 * 1024 * 1024
    DOCUMENTS_TYPES: tuple[str, ...] = (
        "application/pdf",
        "image/png",
        "image/jpeg",
        "text/plain",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    # Where the files are kept, each under the sha256 of its bytes: unset, a directory
    # (DOCUMENTS_DIR; unset, instance/documents); "s3://bucket/prefix", an
    # S3-compatible store, reached at DOCUMENTS_S3_ENDPOINT_URL (unset: AWS) with
    # these credentials (unset: boto3's own chain, e.g. AWS_* variables or a role).
    DOCUMENTS_STORE: str | None = None
    DOCUMENTS_DIR: str | None = None
    DOCUMENTS_S3_ENDPOINT_URL: str | None = None
    DOCUMENTS_S3_REGION: str | None = None
    DOCUMENTS_S3_ACCESS_KEY_ID: str | None = None
    DOCUMENTS_S3_SECRET_ACCESS_KEY: str | None = None

    # flask-smorest / OpenAPI
    API_TITLE = "Reconstruction-aid ledger"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    # Swagger UI's files, served by the app from the installed swagger-ui-bundle
    # package (api.DOCS_ASSETS): the docs work with no internet.
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"
    JSON_SORT_KEYS = False


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_object(Defaults)
    config_file = Path(os.environ.get("LEDGER_CONFIG_FILE", CONFIG_DIR / "ledger.toml"))
    if config_file.exists():
        app.config.from_file(str(config_file), load=tomllib.load, text=False)
    app.config["CONFIG_DIR"] = str(config_file.parent)
    app.config.from_prefixed_env("LEDGER")
    if test_config:
        app.config.update(test_config)
    if not app.config.get("DATABASE_URL"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'ledger.sqlite3'}"
    if not app.config.get("AUDIT_SIGNING_KEY_FILE") and not app.testing:
        app.config["AUDIT_SIGNING_KEY_FILE"] = str(
            Path(app.instance_path) / "audit-signing-key.pem"
        )
    policy = Path(app.config["QUORUM_POLICY_FILE"])
    if not policy.is_absolute():
        policy = Path(app.config["CONFIG_DIR"]) / policy
    app.config["QUORUM_POLICY_FILE"] = str(policy)
