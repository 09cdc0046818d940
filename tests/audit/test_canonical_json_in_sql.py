"""The payment's audit events are written by PostgreSQL (``ledger_pay()``, migration
``8e6f1a2b3c47``), and their hashes are checked by Python (``verify_chain``): the
text SQL hashes must be the text Python computes from what was stored, byte for
byte. Times, JSON values of every shape, and the two rows' snapshots."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.exc import DBAPIError

from ledger.audit.services import canonical, snapshot
from ledger.committee.models import SpendingRequest
from ledger.db import UTCDateTime
from ledger.disbursements.models import Disbursement
from tests.disbursements.test_in_database import world

pytestmark = pytest.mark.postgresql_only


def in_sql(session: Any, value: Any) -> str:
    return session.execute(
        sa.text("SELECT ledger_canonical_json(CAST(:v AS jsonb))"), {"v": json.dumps(value)}
    ).scalar_one()


UTC = dt.UTC
GAZA = dt.timezone(dt.timedelta(hours=3))


@pytest.mark.parametrize(
    "moment",
    [
        dt.datetime(2021, 5, 21, 2, 0, tzinfo=UTC),  # no microseconds: none written
        dt.datetime(2021, 5, 21, 2, 0, 0, 120000, tzinfo=UTC),  # trailing zeros kept
        dt.datetime(2021, 5, 21, 2, 0, 0, 5, tzinfo=UTC),
        dt.datetime(2021, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(2021, 5, 21, 1, 30, 0, 100, tzinfo=GAZA),  # the day before, in UTC
        dt.datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
    ],
)
def test_a_time_is_written_as_python_writes_it(session, moment):
    written = session.execute(
        sa.text("SELECT ledger_json_time(CAST(:t AS timestamptz))"), {"t": moment}
    ).scalar_one()
    assert written == moment.astimezone(UTC).isoformat()


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -17,
        2**70,
        "",
        {},
        [],
        # Every character Python escapes, and some it does not.
        "".join(chr(c) for c in range(1, 0x20)) + '"\\/\x7f\u2028\u00e9\u4e2d\U0001f600',
        "مؤسسة البناء للمقاولات",
        {"b": 1, "a": [1, {"d": None, "c": False}], "_": "x"},
        {"é": 1, "e": 2, "z": 3, "É": 4, "中": 5, "\U0001f600": 6, "B": 7},  # code-point order
        [[[]], {}, "", [{"k": [1, "two", None]}]],
    ],
)
def test_a_json_value_is_written_as_python_writes_it(session, value):
    assert in_sql(session, value) == canonical(value)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=JSON)
def test_any_json_value_without_fractions_is_written_as_python_writes_it(session, value):
    assert in_sql(session, value) == canonical(value)


@pytest.mark.parametrize("number", [0.5, 1.0, 1e-7, -2.25])
def test_a_number_that_is_not_an_integer_is_left_to_python(session, number):
    """Python prints a float its own way (1.0 as 1.0, 1e-7 as 1e-07): SQL refuses,
    and ledger_pay() leaves the payment to the usual way (LP001)."""
    with pytest.raises(DBAPIError) as raised:
        in_sql(session, {"decision": [number]})
    assert raised.value.orig.sqlstate == "LP001"
    session.rollback()


def test_a_whole_number_written_with_an_exponent_is_written_as_the_integer(session):
    """jsonb keeps 1e+20 as the number, which it prints as an integer: the text
    hashed is then the one Python writes for what it reads back (an int)."""
    written = in_sql(session, {"decision": [1e20]})
    assert written == '{"decision":[100000000000000000000]}'
    assert canonical(json.loads(written)) == written


def test_the_rows_snapshots_are_pythons(ledger, session):
    """Every time column at a value with trailing zeros in its microseconds, the
    texts a committee writes, a decision with nested values: the snapshot SQL writes
    is ``canonical(snapshot(row))``. A time column added to either table without
    being added to its snapshot function fails here."""
    fund = world(ledger, "S")
    request_id = fund["request"]["id"]
    paid = ledger.disburse(request_id, "1.00")
    moment = "2021-05-21 02:00:00.120000+00"
    for model, row_id in ((SpendingRequest, request_id), (Disbursement, paid["id"])):
        table = model.__table__
        times = [c.name for c in table.columns if isinstance(c.type, UTCDateTime)]
        assert "created_at" in times
        session.execute(
            sa.text(
                f"UPDATE {table.name} SET "
                + ", ".join(f"{name} = CAST(:moment AS timestamptz)" for name in times)
                + " WHERE id = :id"
            ),
            {"moment": moment, "id": row_id},
        )
    session.execute(
        sa.text(
            "UPDATE spending_requests SET purpose = :purpose, closed_reason = :reason, "
            "decision = CAST(:decision AS json) WHERE id = :id"
        ),
        {
            "purpose": 'Roof "phase 2"\\\n\tترميم المنازل — 50%',
            "reason": "\x01",
            "decision": json.dumps(
                {"tier": {"name": "large", "max_minor": 10**12}, "approvals": [3, 1], "é": None}
            ),
            "id": request_id,
        },
    )
    session.commit()
    request = session.get(SpendingRequest, request_id, populate_existing=True)
    before, after = session.execute(
        sa.text(
            "SELECT ledger_request_snapshot(p.low, p.high, t.disbursed_minor), "
            "ledger_request_snapshot(p.low, p.high, t.disbursed_minor + 250) "
            "FROM spending_requests AS t, ledger_request_parts(to_jsonb(t)) AS p "
            "WHERE t.id = :id"
        ),
        {"id": request_id},
    ).one()
    assert before == canonical(snapshot(request))
    request.disbursed_minor += 250
    assert after == canonical(snapshot(request))
    session.rollback()
    disbursement = session.get(Disbursement, paid["id"], populate_existing=True)
    made = session.execute(
        sa.text(
            "SELECT ledger_disbursement_snapshot(to_jsonb(t), "
            "ledger_canonical_json(to_jsonb(t)->'screening')) FROM disbursements AS t "
            "WHERE t.id = :id"
        ),
        {"id": paid["id"]},
    ).scalar_one()
    assert made == canonical(snapshot(disbursement))
    for written in (before, after, made):
        assert '.120000+00:00"' in written
