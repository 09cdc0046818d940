"""The real lists imported, for the screening tests of every module here."""

from tests.screening.test_screening_flow import lists  # noqa: F401
