"""InsertBatch: rows of several tables naming each other's new ids, written together (one statement on
PostgreSQL), with the same rows on both engines; and the writers that join an open batch."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from practice.audit import service as audit
from practice.audit.models import AuditEvent
from practice.booking.models import Client
from practice.database import InsertBatch, insert_batch
from practice.extensions import db
from practice.notify.models import OutboxMessage, OutboxState
from practice.notify.outbox import queue_email

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


@contextmanager
def counted():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement != "BEGIN":  # SQLite's, sent as a statement
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


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
    assert first.id == clients[0].id and batch.id_of(first) == first.id  # the object got its id
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
