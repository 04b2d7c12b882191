"""Column types shared by every domain's models, and how the app talks to its database."""
from __future__ import annotations

import weakref
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Annotated, Any, Callable

from flask import current_app
from sqlalchemy import DateTime, String, Table, TypeDecorator, bindparam, cast, create_engine, insert, literal, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import configure_mappers, mapped_column


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
    from practice.extensions import db

    engine = current_app.extensions.get(READ_ENGINE)
    if engine is None:
        yield db.session.connection()
        return
    with engine.connect() as connection:
        yield connection


def configure_read_engine(app) -> None:
    """On PostgreSQL, make the read-only engine (read_only_connection). create_app calls it in an app context."""
    from practice.extensions import db

    if db.engine.dialect.name == "postgresql":
        options = {**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), "isolation_level": "AUTOCOMMIT"}
        app.extensions[READ_ENGINE] = create_engine(db.engine.url, **options)


def app_engines(app) -> list:
    """Every engine of the app: the main one and, on PostgreSQL, the read-only one."""
    from practice.extensions import db

    with app.app_context():
        return [engine for engine in (db.engine, app.extensions.get(READ_ENGINE)) if engine is not None]


def dispose_engines(app) -> None:
    """Close every pooled connection of the app's engines (before a fork, or when the app is done with)."""
    for engine in app_engines(app):
        engine.dispose()


# --- hot statements --------------------------------------------------------------------------------------

_REQUIRED = object()  # a parameter the statement needs a value for


class _Execution:
    """What SQLAlchemy's cursor listeners get as the execution context of a hot statement: its statement and
    parameters as sent. Listeners may keep attributes of their own on it (Flask-SQLAlchemy's query recording
    does); a listener's return value is not used (retval listeners cannot rewrite a hot statement)."""

    def __init__(self, statement: str, parameters: tuple):
        self.statement, self.parameters, self.executemany = statement, parameters, False


class HotStatement:
    """A statement on a hot path: on PostgreSQL compiled once, with PostgreSQL's own placeholders ($1, $2...),
    and run on psycopg's RawCursor directly; on SQLite, Core.

    Executing even SQL text through SQLAlchemy costs about 0.15 ms a statement above the driver's own work (the
    execution context, and result metadata built from the cursor's description every time), more than
    PostgreSQL takes for these statements; and psycopg parses %(name)s placeholders afresh on every execution
    of a statement with more than 50 parameters or 4 kB of text (a booking's batch has both). Here parameters
    still go through their types' bind processors (encryption, JSON, enums), so the database receives what
    Core would send; rows come back as the driver gives them (named tuples): datetimes in the connection's time
    zone (the same instants, aware), TypeDecorator columns as stored. What SQLAlchemy would do around the execution
    is kept: the engine's before/after_cursor_execute listeners are called (with a stand-in for the execution
    context, `_Execution`), a driver error is raised as SQLAlchemy's (IntegrityError...) and a lost connection
    is invalidated with the pool's older connections, and a connection not yet in a transaction begins one, as
    Core would. It is not in SQLAlchemy's echo log. The statement must return rows, and may not expand
    parameters (IN lists: use literals or `= ANY(array)`) nor leave column defaults to be computed at execution
    (give every value).
    """

    def __init__(self, statement, *, postgresql=None):
        self.statement = statement
        self._postgresql = statement if postgresql is None else postgresql
        self._sql: str | None = None
        self._binds: list = []  # (name, value when not given, type) in $n order
        self._processors: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # dialect -> [processor]

    def rows(self, params: dict, connection=None) -> list:
        """Its rows, run on `connection`, or else on the session's own after a flush (so that the session's
        pending changes are seen, as Session.execute would)."""
        if connection is None:
            from practice.extensions import db

            db.session.flush()
            connection = db.session.connection()
        if connection.dialect.name != "postgresql":
            result = connection.execute(self.statement, params)
            return result.all() if result.returns_rows else []
        return self._run(connection, self._values(connection.dialect, params))

    def _values(self, dialect, params: dict) -> tuple:
        if self._sql is None:
            self._compile()
        processors = self._processors.get(dialect)
        if processors is None:
            processors = self._processors[dialect] = [type_.bind_processor(dialect) for _, _, type_ in self._binds]
        values = []
        for (name, default, _), process in zip(self._binds, processors):
            value = params.get(name, default)
            if value is _REQUIRED:
                raise KeyError(f"no value for the parameter {name}")
            values.append(value if process is None or value is None else process(value))
        return tuple(values)

    def _run(self, connection, values: tuple) -> list:
        import psycopg
        from psycopg.rows import namedtuple_row

        if not connection.in_transaction():
            connection.begin()  # as Core's autobegin would: the caller's commit() then commits this
        driver = connection.connection.driver_connection
        cursor = psycopg.RawCursor(driver, row_factory=namedtuple_row)
        sql = self._sql
        execution = _Execution(sql, values)
        try:
            for listener in connection.dispatch.before_cursor_execute:
                listener(connection, cursor, sql, values, execution, False)
            try:
                cursor.execute(sql, values)
                rows = cursor.fetchall()
            except psycopg.Error as exc:
                # SQLAlchemy's own handling (a private method, of the pinned version): the error as SQLAlchemy's
                # class, and on a lost connection this one invalidated and the pool's older ones recycled.
                connection._handle_dbapi_exception(exc, sql, values, cursor, None)
        finally:
            cursor.close()
        for listener in connection.dispatch.after_cursor_execute:
            listener(connection, cursor, sql, values, execution, False)
        return rows

    def _compile(self) -> None:
        from sqlalchemy.dialects.postgresql import psycopg

        compiled = self._postgresql.compile(dialect=psycopg.dialect(paramstyle="numeric_dollar"))
        if "POSTCOMPILE" in compiled.string or compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a HotStatement can neither expand parameters nor compute defaults when run")
        binds = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            binds.append((name, _REQUIRED if bind.required else bind.effective_value, bind.type))
        self._binds, self._sql = binds, compiled.string


def record(model, /, **values):
    """An object of `model` holding `values`, for reading only: rows a hot statement read or a batch wrote,
    which the rest of a request reads (a response, an email).

    Made without the ORM's events and bookkeeping: Model(**values) costs about ten times as much, which a hot
    path making several objects notices. It is transient and must never be added to a session; an attribute
    not given reads as None (an empty list for a collection), so give every attribute its readers use.
    """
    mapper = model.__mapper__
    if not mapper.configured:  # its attributes are instrumented once every mapper is configured
        configure_mappers()
    obj = mapper.class_manager.new_instance()
    obj.__dict__.update(values)
    return obj


# --- several rows, some naming the ids of others, written in one round trip --------------------------------

class Ref:
    """The id a row of an InsertBatch gets when the batch is written: a value for a later row of the batch."""

    __slots__ = ("index", "as_text")

    def __init__(self, index: int, *, as_text: bool = False):
        self.index, self.as_text = index, as_text

    def text(self) -> Ref:
        """The same id, for a text column (an audit event's record id)."""
        return Ref(self.index, as_text=True)


_BATCH = "practice.insert_batch"  # session.info key: the batch insert_batch() holds open


@contextmanager
def insert_batch():
    """Rows added inside the block (`InsertBatch.add`, and the writers that look for `current_batch()`: audit
    events, outbox messages, intake links) are written together when it ends, on the session's connection, in
    the caller's transaction. If the block raises, nothing is written. Nested blocks share the outer batch."""
    from practice.extensions import db

    session = db.session()
    if session.info.get(_BATCH) is not None:
        yield session.info[_BATCH]
        return
    batch = session.info[_BATCH] = InsertBatch()
    try:
        yield batch
    finally:
        session.info.pop(_BATCH, None)
    batch.execute(session.connection())


def current_batch() -> InsertBatch | None:
    from practice.extensions import db

    return db.session().info.get(_BATCH)


class InsertBatch:
    """INSERTs of several tables, where a row may name the generated id of an earlier row (a Ref), written in
    one statement on PostgreSQL and one statement per row elsewhere.

    On PostgreSQL each row is a data-modifying CTE (`WITH r0 AS (INSERT ... RETURNING id), r1 AS (INSERT ...
    VALUES (..., (SELECT id FROM r0)))`): one round trip and one plan for what the unit of work would send as
    a statement per table, at several times the Python cost. The statement is compiled once per shape (the
    tables, columns and references, in order), so a hot path pays for its values only. Every statement in it
    sees the same snapshot and the constraints are checked as for any INSERT (an exclusion or unique violation
    raises IntegrityError for the whole batch).

    Columns a row leaves out get their column's default (a value or a function of no arguments), or NULL;
    a column with neither is an error. Rows are written in the order added.
    """

    def __init__(self):
        self._rows: list[tuple[Table, dict[str, Any], tuple[str, ...]]] = []
        self._then: list[tuple[int, Callable[[Any], None]]] = []
        self._objects: dict[int, Ref] = {}  # id(ORM object) -> its row

    def add(self, table: Table, values: dict[str, Any], *, unless_conflict_on: tuple[str, ...] = (),
            then: Callable[[Any], None] | None = None) -> Ref | None:
        """A row of `table`. `unless_conflict_on`: columns of a unique index; a row that would repeat one is
        left out (ON CONFLICT DO NOTHING) and its id is None. `then(id)` is called once the batch is written.
        Returns the Ref of its generated id (None for a table whose key is not generated)."""
        if then is not None and table.autoincrement_column is None:
            raise ValueError(f"{table.name} has no generated key to give `then`")
        index = len(self._rows)
        self._rows.append((table, _with_defaults(table, values), tuple(unless_conflict_on)))
        if then is not None:
            self._then.append((index, then))
        return Ref(index) if table.autoincrement_column is not None else None

    def add_object(self, obj, **values) -> Ref | None:
        """A new ORM object's row: its column attributes, with `values` (e.g. a foreign key given as a Ref)
        over them. Once written, the object's generated id is set on it; it does not join the session."""
        mapper = sa_inspect(type(obj))
        row = {prop.columns[0].name: obj.__dict__[prop.key] for prop in mapper.column_attrs
               if prop.key in obj.__dict__}
        row.update(values)
        generated = mapper.local_table.autoincrement_column
        ref = self.add(mapper.local_table, row, then=(lambda new_id: setattr(obj, generated.key, new_id))
                       if generated is not None else None)
        if ref is not None:
            self._objects[id(obj)] = ref
        return ref

    def id_of(self, obj) -> Any:
        """An object's id: its Ref while it waits in this batch, its id otherwise."""
        return self._objects.get(id(obj)) or obj.id

    def execute(self, connection) -> None:
        if not self._rows:
            return
        if connection.dialect.name == "postgresql":
            params = {f"r{i}_{name}": value for i, (_, values, _) in enumerate(self._rows)
                      for name, value in values.items() if not isinstance(value, Ref)}
            shape = self._shape()
            returned = [i for i, (table, _, _) in enumerate(shape) if table.autoincrement_column is not None]
            (row,) = _batch_statement(shape).rows(params, connection)
            ids = dict(zip(returned, row))
        else:
            ids = {}
            for i, (table, values, conflict) in enumerate(self._rows):
                values = {name: (_as_text(ids[value.index]) if value.as_text else ids[value.index])
                          if isinstance(value, Ref) else value for name, value in values.items()}
                returned = _row_statement(table, tuple(values), conflict).rows(values, connection)
                ids[i] = returned[0][0] if returned else None
        for index, then in self._then:
            then(ids[index])
        self._rows, self._then, self._objects = [], [], {}

    def _shape(self) -> tuple:
        return tuple(
            (table, tuple((name, (value.index, value.as_text) if isinstance(value, Ref) else None)
                          for name, value in values.items()), conflict)
            for table, values, conflict in self._rows)


def _as_text(value) -> str | None:
    return None if value is None else str(value)


_MISSING, _SERVER = object(), object()  # no value at all; left to the database's default
_DEFAULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # table -> {column: its default}


def _with_defaults(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """The row to write: `values`, and for the other columns (but a generated key) their column's default.

    A NULL is written by leaving its column out of the INSERT where the column has no default (in the model or
    the database): fewer parameters to send, for the same row.
    """
    defaults = _DEFAULTS.get(table)
    if defaults is None:
        defaults = {}  # made whole before it is shared: another thread may be writing its first row too
        for column in table.columns:
            if column is table.autoincrement_column:
                continue
            default = column.default
            if default is not None and (default.is_scalar or default.is_callable):
                defaults[column.name] = default
            elif column.server_default is not None:
                defaults[column.name] = _SERVER
            else:
                defaults[column.name] = None if column.nullable else _MISSING
        _DEFAULTS[table] = defaults
    row = {}
    for name, default in defaults.items():
        value = values.get(name, _MISSING)
        if value is _MISSING:
            if default is _SERVER:
                continue
            if default is _MISSING:
                raise KeyError(f"{table.name}.{name} has no value and no default")
            value = None if default is None else default.arg(None) if default.is_callable else default.arg
        if value is not None or default is not None:  # left out, a NULL is a NULL only without a default
            row[name] = value
    if not values.keys() <= defaults.keys():  # a hot path: no set made when all is well
        raise KeyError(f"{table.name} has no column {', '.join(sorted(set(values) - set(defaults)))}")
    return row


_STATEMENTS: dict[tuple, HotStatement] = {}  # a batch's shape, or one row's (SQLite) -> its statement


def _statement(key: tuple, build) -> HotStatement:
    statement = _STATEMENTS.get(key)
    if statement is None:
        if len(_STATEMENTS) > 256:  # shapes come from code paths, not from input; this only bounds a mistake
            _STATEMENTS.clear()
        statement = _STATEMENTS[key] = HotStatement(build())
    return statement


def _insert(dialect_name: str, table: Table, conflict: tuple[str, ...]):
    if not conflict:
        return insert(table)
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table).on_conflict_do_nothing(
        index_elements=list(conflict))


def _batch_statement(shape) -> HotStatement:
    def build():
        ctes, selected = [], []
        for i, (table, columns, conflict) in enumerate(shape):
            values = {}
            for name, ref in columns:
                if ref is None:
                    values[name] = bindparam(f"r{i}_{name}", type_=table.c[name].type)
                    continue
                index, as_text = ref
                referenced = shape[index][0].autoincrement_column
                value = select(ctes[index].c[referenced.name]).scalar_subquery()
                values[name] = cast(value, table.c[name].type) if as_text else value
            statement = _insert("postgresql", table, conflict).values(values)
            if table.autoincrement_column is not None:
                statement = statement.returning(table.autoincrement_column)
            ctes.append(statement.cte(f"r{i}"))
            if table.autoincrement_column is not None:
                selected.append(select(ctes[-1].c[table.autoincrement_column.name]).scalar_subquery()
                                .label(f"r{i}"))
        # Every CTE runs whether or not the query reads it (PostgreSQL runs data-modifying CTEs to completion).
        return select(*(selected or [literal(None).label("nothing")])).add_cte(*ctes)

    return _statement(("batch", shape), build)


def _row_statement(table: Table, columns: tuple[str, ...], conflict: tuple[str, ...]) -> HotStatement:
    def build():
        statement = _insert("sqlite", table, conflict).values(
            {name: bindparam(name, type_=table.c[name].type) for name in columns})
        if table.autoincrement_column is not None:
            statement = statement.returning(table.autoincrement_column)
        return statement

    return _statement(("row", table, columns, conflict), build)
