"""The real lists imported (tests/screening's fixture), for the compliance pages;
a documents directory of the test's own (tests/documents' fixture)."""

from tests.documents.conftest import documents_dir  # noqa: F401
from tests.screening.test_screening_flow import lists  # noqa: F401
