"""The schema comes from Alembic alone: the models and the migrations must agree."""

from ledger.migrations import check


def test_models_and_migrations_do_not_drift(database_url, backend):
    check(database_url)
