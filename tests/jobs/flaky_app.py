"""``flask --app tests.jobs.flaky_app worker``: the application, with test.flaky."""

import tests.jobs.flaky  # noqa: F401
from wsgi import app

__all__ = ["app"]
