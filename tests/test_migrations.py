"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL, and go back down."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

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
