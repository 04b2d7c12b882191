"""practice.database's hot-path tools: HotStatement (compiled once, run on the driver), InsertBatch (rows of
several tables naming each other's new ids, written together: one statement on PostgreSQL, the same rows on
both engines) with the writers that join an open batch, and record()."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import psycopg
from sqlalchemy import bindparam, event, literal, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from practice import create_app
from practice.audit import service as audit
from practice.audit.models import AuditEvent
from practice.booking.models import Booking, BookingStatus, Client
from practice.counselors.models import Counselor
from practice.database import HotStatement, InsertBatch, dispose_engines, insert_batch, record
from practice.extensions import db
from practice.notify.models import OutboxMessage, OutboxState
from practice.notify.outbox import queue_email
from tests.conftest import PG_ADMIN_URL, statements_sent

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def counted():
    return statements_sent(keep=lambda statement: statement != "BEGIN")  # SQLite's, sent as a statement


def test_rows_name_the_ids_of_earlier_rows_and_are_written_in_one_statement_on_postgresql(app):
    batch = InsertBatch()
    first = Client(name="Robin", email="robin@example.org", phone="", state="NY", created_at=NOW)
    first_id = batch.add_object(first)
    second_id = batch.add(Client.__table__, {"name": "Sam", "email": "sam@example.org", "created_at": NOW})
    batch.add(AuditEvent.__table__, {"actor": "anonymous", "action": "thing.one", "record_type": "client",
                                     "record_id": first_id.text()})
    batch.add(AuditEvent.__table__, {"actor": "anonymous", "action": "thing.two", "record_type": "client",
                                     "record_id": second_id.text(), "at": NOW})
    assert batch.id_of(first) is first_id
    with counted() as statements:
        batch.execute(db.session.connection())
    assert len(statements) == (1 if db.engine.dialect.name == "postgresql" else 4)
    db.session.commit()
    clients = db.session.scalars(select(Client).order_by(Client.id)).all()
    assert [(c.name, c.phone, c.state) for c in clients] == [("Robin", "", "NY"), ("Sam", "", None)]  # defaults
    assert first.id == clients[0].id  # the object got its id
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.record_id, e.ip, e.detail) for e in events] == [
        ("thing.one", str(clients[0].id), "", {}), ("thing.two", str(clients[1].id), "", {})]
    assert events[0].at is not None and events[1].at == NOW


def test_a_row_without_a_required_value_or_with_an_unknown_column_is_refused_before_anything_is_sent(app):
    batch = InsertBatch()
    with pytest.raises(KeyError, match="client.email has no value and no default"):
        batch.add(Client.__table__, {"name": "Robin"})
    with pytest.raises(KeyError, match="client has no column nickname"):
        batch.add(Client.__table__, {"name": "Robin", "email": "r@example.org", "nickname": "R"})
    with pytest.raises(ValueError, match="booking has no generated key"):
        batch.add(Booking.__table__, {}, then=print)
    with counted() as statements:
        batch.execute(db.session.connection())
    assert statements == []


def test_a_conflicting_row_is_left_out_and_the_rest_written(app):
    first = queue_email(to="robin@example.org", template="booking_cancelled", kind="test", dedupe_key="once",
                        context={"name": "Robin"}, now=NOW)
    with insert_batch():
        assert queue_email(to="robin@example.org", template="booking_cancelled", kind="test", dedupe_key="once",
                           context={"name": "Robin"}, now=NOW) is None  # written with the batch
        queue_email(to="sam@example.org", template="booking_cancelled", kind="test", dedupe_key="other",
                    context={"name": "Sam"}, now=NOW)
        audit.record("thing.one")
    db.session.commit()
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(m.to_email, m.dedupe_key, m.state, m.context) for m in rows] == [
        ("robin@example.org", "once", OutboxState.pending, {"name": "Robin"}),
        ("sam@example.org", "other", OutboxState.pending, {"name": "Sam"})]
    assert rows[0].id == first.id
    assert [e.action for e in db.session.scalars(select(AuditEvent))] == ["thing.one"]  # the rest was written


def test_outside_a_batch_a_repeated_message_returns_the_one_queued(app):
    first = queue_email(to="robin@example.org", template="booking_cancelled", kind="test", dedupe_key="once",
                        context={"name": "Robin"}, now=NOW)
    again = queue_email(to="robin@example.org", template="booking_cancelled", kind="test", dedupe_key="once",
                        context={"name": "Robin"}, now=NOW)
    assert again is first or again.id == first.id
    db.session.commit()
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 1


def test_audit_events_of_a_batch_are_written_when_it_ends_and_nested_blocks_share_it(app):
    with counted() as statements:
        with insert_batch():
            audit.record("thing.one", record_type="thing", record_id=1, detail={"n": 1})
            with insert_batch():  # nested: the outer block writes
                audit.record("thing.two", record_type="thing", record_id=2)
            assert not [s for s in statements if "audit_event" in s]
    assert len(statements) == (1 if db.engine.dialect.name == "postgresql" else 2)
    db.session.commit()
    rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(r.action, r.record_id, r.detail) for r in rows] == [("thing.one", "1", {"n": 1}), ("thing.two", "2", {})]
    assert all(r.at is not None for r in rows)


def test_a_batch_that_raises_writes_nothing(app):
    with pytest.raises(RuntimeError):
        with insert_batch():
            audit.record("thing.one")
            raise RuntimeError("boom")
    audit.record("thing.after")  # outside a batch again: an object in the session, as before
    db.session.commit()
    assert [r.action for r in db.session.scalars(select(AuditEvent))] == ["thing.after"]


def test_a_constraint_broken_by_one_row_writes_none_of_them(app):
    batch = InsertBatch()
    batch.add(Client.__table__, {"name": "Robin", "email": "robin@example.org", "created_at": NOW})
    batch.add(AuditEvent.__table__, {"actor": "anonymous", "action": "x", "actor_id": 999999})  # no such user
    with pytest.raises(IntegrityError):
        batch.execute(db.session.connection())
    db.session.rollback()
    assert db.session.scalars(select(Client)).all() == []


# --- HotStatement ----------------------------------------------------------------------------------------

def test_a_hot_statement_sends_what_core_would_and_is_seen_by_the_engines_listeners(app):
    statement = HotStatement(select(Client.id, Client.email).where(Client.email == bindparam("email"),
                                                                    Client.created_at <= bindparam("at")))
    db.session.add(Client(name="Robin", email="robin@example.org", created_at=NOW))
    db.session.commit()
    seen = []
    listener = (lambda conn, cursor, sql, params, context, many: sql != "BEGIN" and seen.append(sql))
    event.listen(db.engine, "after_cursor_execute", listener)
    try:
        with counted() as statements:
            rows = statement.rows({"email": "robin@example.org", "at": NOW})
    finally:
        event.remove(db.engine, "after_cursor_execute", listener)
    assert [row.email for row in rows] == ["robin@example.org"]  # named: rows read by attribute
    assert len(statements) == 1 and seen == statements
    assert statement.rows({"email": "sam@example.org", "at": NOW}) == []
    if db.engine.dialect.name == "postgresql":
        assert "$1" in statements[0]  # PostgreSQL's own placeholders: psycopg parses nothing
        with pytest.raises(KeyError, match="email"):
            statement.rows({"at": NOW})


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # compiled for PostgreSQL only
def test_a_hot_statement_refuses_what_it_cannot_send_as_compiled(app):
    expanding = HotStatement(select(Client.id).where(Client.id.in_(bindparam("ids", expanding=True))))
    computed_default = HotStatement(Booking.__table__.update().values(status=BookingStatus.cancelled))
    for statement, params in ((expanding, {"ids": [1]}), (computed_default, {})):
        with pytest.raises(ValueError, match="neither expand parameters nor compute defaults"):
            statement.rows(params)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # a server to lose the connections to
def test_lost_connections_are_an_sqlalchemy_error_and_the_pools_older_ones_are_replaced(app):
    """As SQLAlchemy does for its own statements: after a server restart one request fails, not one for every
    connection left in the pool."""
    statement = HotStatement(select(literal(1).label("one")))
    db.session.remove()
    first, second = db.engine.connect(), db.engine.connect()  # two connections, then both back in the pool
    pids = [c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in (first, second)]
    first.close()
    second.close()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:  # as if the server had restarted
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with db.engine.connect() as connection:
        with pytest.raises(DBAPIError) as raised:
            statement.rows({}, connection)
        assert raised.value.connection_invalidated
    for _ in range(2):  # the other stale connection is not handed out again
        with db.engine.connect() as connection:
            assert [row.one for row in statement.rows({}, connection)] == [1]


@pytest.fixture
def recording_app(app_config):
    app = create_app({**app_config, "SQLALCHEMY_RECORD_QUERIES": True})
    with app.app_context():
        yield app
        db.session.remove()
    dispose_engines(app)


def test_flask_sqlalchemys_query_recording_sees_hot_statements(recording_app):
    from flask_sqlalchemy.record_queries import get_recorded_queries

    statement = HotStatement(select(literal(1).label("one")))
    with recording_app.test_request_context():
        assert [row.one for row in statement.rows({})] == [1]
        recorded = get_recorded_queries()
    assert recorded and recorded[-1].statement.startswith("SELECT") and recorded[-1].duration >= 0


# --- record ---------------------------------------------------------------------------------------------

def test_a_record_reads_what_it_was_given_and_stays_out_of_the_session(app):
    counselor = record(Counselor, id=7, slug="ana", name="Ana", accepts_individual=True, accepts_couples=False)
    assert (counselor.id, counselor.slug, counselor.formats) == (7, "ana", ["individual"])
    assert counselor.bio is None and counselor.services == []  # not given: nothing is loaded
    assert counselor not in db.session


def test_a_none_given_for_a_column_with_a_default_is_a_null_on_both_engines(app):
    """Only a column without any default may be left out for its NULL: this one would get "" instead."""
    batch = InsertBatch()
    batch.add(AuditEvent.__table__, {"actor": "anonymous", "action": "x", "record_type": None})
    with pytest.raises(IntegrityError):  # record_type is NOT NULL: the NULL was sent
        batch.execute(db.session.connection())
