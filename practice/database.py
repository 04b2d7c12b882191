"""Column types shared by every domain's models."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from sqlalchemy import DateTime, String, TypeDecorator
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
