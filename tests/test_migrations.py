"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL, and go back down."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from practice.extensions import db


def test_models_and_migrations_do_not_drift(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_migrations_downgrade_to_empty_and_upgrade_again(app):
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert "counselor" in inspect(db.engine).get_table_names()


def test_audit_log_is_append_only_in_the_database(app):
    import pytest
    from sqlalchemy.exc import DBAPIError

    db.session.execute(text("INSERT INTO audit_event (at, actor, action, record_type, record_id, ip, detail) "
                            "VALUES (CURRENT_TIMESTAMP, 'test', 'x', '', '', '', '{}')"))
    db.session.commit()
    for statement in ("UPDATE audit_event SET action = 'changed'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.execute(text("SELECT action FROM audit_event")).scalars().all() == ["x"]


def test_outbox_rows_survive_0006_both_ways(app):
    """Rows queued before 0006 keep their bodies and are sent as they are; going back down, sent messages
    queued after it get empty bodies, and an unsent one stops the downgrade instead of being lost."""
    import pytest

    from practice.notify.models import OutboxMessage, OutboxState
    from practice.notify.outbox import RenderedEmail, queue_email, rendered

    db.session.remove()
    downgrade(revision="0005")
    db.session.execute(text(
        "INSERT INTO outbox_message (created_at, kind, to_email, to_name, subject, text_body, html_body, "
        "attachments, state, attempts, next_attempt_at, message_id) VALUES (CURRENT_TIMESTAMP, 'old', "
        "'ada@example.com', 'Ada', 'Old subject', 'Old text', '<p>Old</p>', '[]', 'pending', 0, "
        "CURRENT_TIMESTAMP, '<old@practice.example>')"))
    db.session.commit()
    upgrade()

    old = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.kind == "old")).one()
    assert old.template is None and rendered(old) == RenderedEmail("Old subject", "Old text", "<p>Old</p>")
    new = queue_email(to="bo@example.com", template="booking_cancelled", kind="new",
                      context={"name": "Bo", "role": "client", "counselor": "Ana", "service": "Trial",
                               "duration": 50, "when": "Monday", "zone": "UTC", "manage_url": None,
                               "booking_ref": "AB12", "book_again_url": "http://practice.test/counselors/ana"})
    db.session.commit()
    assert "Ana" in rendered(new).text
    new_id = new.id
    db.session.remove()

    head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.remove()
    with pytest.raises(SystemExit):  # Flask-Migrate reports the migration's error and exits
        downgrade(revision="0005")
    db.session.remove()
    assert db.session.scalar(text("SELECT version_num FROM alembic_version")) in (head, "0006")
    db.session.execute(db.update(OutboxMessage).where(OutboxMessage.id == new_id).values(state=OutboxState.sent))
    db.session.commit()
    db.session.remove()
    downgrade(revision="0005")
    bodies = db.session.execute(text("SELECT kind, subject, text_body FROM outbox_message ORDER BY id")).all()
    assert [tuple(row) for row in bodies] == [("old", "Old subject", "Old text"), ("new", "", "")]
    db.session.remove()
    upgrade()


def test_0011_encrypts_the_reasons_already_there_keeps_every_row_and_gives_the_words_back_going_down(app):
    """A client's reason for cancelling and a refund's reason written before 0011 are ciphertext in the
    database after it, read back as they were through the models, and plain again after going back down; the
    rows that point at the booking (its people, its payment) are all still there, on SQLite too, where the
    column's change rebuilds the table."""
    from datetime import datetime, timedelta, timezone

    from practice.booking.models import Booking, BookingStatus, Participant
    from practice.payments.models import Payment, PaymentStatus, Refund, RefundState
    from tests.factories import make_counselor
    from tests.frontdesk.test_clients import make_booking

    ana = make_counselor(slug="ana")
    start = datetime(2026, 12, 7, 15, tzinfo=timezone.utc)
    booking = make_booking(ana, "individual-trial", start=start, status=BookingStatus.cancelled,
                           people=[("client", "Robin", "robin@example.org")], created_at=start - timedelta(days=2))
    payment = Payment(booking_id=booking.id, amount=7500, currency="USD", status=PaymentStatus.refunded,
                      amount_refunded=7500, succeeded_at=start, created_at=start)
    db.session.add(payment)
    db.session.flush()
    db.session.add(Refund(payment_id=payment.id, amount=7500, kind="staff", requested_by="staff", reason="x",
                          state=RefundState.succeeded, completed_at=start, created_at=start))
    db.session.commit()
    booking_id = booking.id
    # 400 characters: its ciphertext is longer than the old column's 500, which going down must not trip on.
    words = "My partner found the messages. " + "x" * 369
    db.session.remove()

    downgrade(revision="0010")
    db.session.execute(text("UPDATE booking SET cancel_reason = :words"), {"words": words})
    db.session.execute(text("UPDATE refund SET reason = 'Session started late'"))
    db.session.commit()
    db.session.remove()

    upgrade()
    raw = db.session.scalar(text("SELECT cancel_reason FROM booking"))
    assert isinstance(raw, (bytes, memoryview)) and b"partner" not in bytes(raw)
    assert b"Session" not in bytes(db.session.scalar(text("SELECT reason FROM refund")))
    assert db.session.get(Booking, booking_id).cancel_reason == words
    assert db.session.scalars(select(Refund.reason)).all() == ["Session started late"]
    assert len(db.session.scalars(select(Participant).where(Participant.booking_id == booking_id)).all()) == 1
    assert db.session.scalars(select(Payment.booking_id)).all() == [booking_id]
    db.session.remove()

    downgrade(revision="0010")
    assert db.session.scalar(text("SELECT cancel_reason FROM booking")) == words
    assert db.session.scalar(text("SELECT reason FROM refund")) == "Session started late"
    assert db.session.scalar(text("SELECT count(*) FROM booking_participant")) == 1
    db.session.remove()
    upgrade()
