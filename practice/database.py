"""Column types shared by every domain's models, and how the app talks to its database."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Annotated

from flask import current_app
from sqlalchemy import DateTime, String, TypeDecorator, create_engine
from sqlalchemy.orm import mapped_column


class UtcDateTimeType(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every engine.

    SQLite has no time zones; PostgreSQL stores timestamptz. Naive values are refused, so a local time can
    never be saved by mistake.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


Slug = Annotated[str, mapped_column(String(80))]


def configure_sqlite(engine) -> None:
    """SQLite as a serious database: foreign keys on, writers wait for each other, and BEGIN IMMEDIATE on demand.

    pysqlite's own transaction handling is switched off so SQLAlchemy's BEGIN is the one sent. A unit of work
    that must check-then-write (booking) asks for `session.connection(execution_options={"sqlite_immediate":
    True})`, which takes the write lock before its first read, so two writers can never both see a slot free.
    """
    from sqlalchemy import event

    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 15000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")  # readers don't wait for a writer
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = connection.get_execution_options().get("sqlite_immediate")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write(session) -> None:
    """End whatever `session` was doing and begin a transaction for a check-then-write: on SQLite it holds the
    write lock from its first statement (BEGIN IMMEDIATE, see configure_sqlite), so two writers can never both
    read before either writes; on PostgreSQL a plain transaction (callers that need more lock rows)."""
    session.rollback()
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={"sqlite_immediate": True})


READ_ENGINE = "practice.read_engine"


@contextmanager
def read_only_connection():
    """A connection for a request that only reads, such as the slots API. Never write through it.

    On PostgreSQL it comes from a pool of its own, of connections in autocommit. At READ COMMITTED every
    statement takes its own snapshot anyway, so for reads a transaction adds only a BEGIN and a ROLLBACK round
    trip; and psycopg forgets the statements it has prepared on a connection at every ROLLBACK, which every
    other request's connection sees at its end. Here none is ever sent, so the hot statements stay prepared
    and PostgreSQL stops planning them afresh on every request (the two statements of a slots request took
    1.7 ms on the main pool and 1.1 ms here, in a trial beside bench/slots.py). The pool costs up to its size
    in extra database connections per process, and its prepared statements live as long as its connections:
    restart the processes after a migration. On SQLite, the session's own connection: its transactions are
    calls within the process.
    """
    engine = current_app.extensions.get(READ_ENGINE)
    if engine is None:
        yield current_app.extensions["sqlalchemy"].session.connection()  # Flask-SQLAlchemy's db, as registered
        return
    with engine.connect() as connection:
        yield connection


def configure_read_engine(app, engine) -> None:
    """On PostgreSQL, make the read-only engine (read_only_connection) beside the app's main `engine`."""
    if engine.dialect.name == "postgresql":
        options = {**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), "isolation_level": "AUTOCOMMIT"}
        app.extensions[READ_ENGINE] = create_engine(engine.url, **options)


def app_engines(app) -> list:
    """Every engine of the app: the main one and, on PostgreSQL, the read-only one."""
    with app.app_context():
        main = app.extensions["sqlalchemy"].engine
        return [engine for engine in (main, app.extensions.get(READ_ENGINE)) if engine is not None]


def dispose_engines(app) -> None:
    """Close every pooled connection of the app's engines (before a fork, or when the app is done with)."""
    for engine in app_engines(app):
        engine.dispose()


def unreachable(exc: BaseException) -> bool:
    """True when a database error says the database could not be reached or the connection was lost (down,
    restarting, refusing connections): a passing state. False for an error the server answered with (a
    constraint, a deadlock, bad SQL), which carries an SQLSTATE."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    return isinstance(exc, (OperationalError, InterfaceError)) and getattr(exc.orig, "sqlstate", None) is None
