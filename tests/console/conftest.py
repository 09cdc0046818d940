"""The real lists imported (tests/screening's fixture), for the compliance pages."""

from tests.screening.test_screening_flow import lists  # noqa: F401
