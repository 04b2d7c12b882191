import logging
from logging.config import fileConfig

import sqlalchemy as sa
from flask import current_app

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    return current_app.extensions['migrate'].db.engine


def migration_engine():
    """The app's engine, except on SQLite: there, one of the migrations' own, with foreign keys off.

    Batch mode changes a SQLite table by copying it and dropping the old one. With foreign keys on, as the app's
    connections have them, dropping the old table first runs every ON DELETE of the tables pointing at it (a
    rebuilt `booking` would take its participants with it). Off here, and checked before the migration commits
    (run_migrations_online). BEGIN is sent as the app's engine sends it, so DDL is inside that transaction.
    """
    engine = get_engine()
    if engine.dialect.name != "sqlite":
        return engine
    own = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)

    @sa.event.listens_for(own, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = OFF")
        dbapi_connection.execute("PRAGMA busy_timeout = 15000")

    @sa.event.listens_for(own, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")

    return own


def get_engine_url():
    return get_engine().url.render_as_string(hide_password=False).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def render_item(type_, obj, autogen_context):
    """Write the app's column types as plain SQLAlchemy types, so migrations never import app code."""
    from practice.crypto import EncryptedJSON, EncryptedText
    from practice.database import UtcDateTimeType

    if type_ == "type" and isinstance(obj, UtcDateTimeType):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, (EncryptedText, EncryptedJSON)):
        return "sa.LargeBinary()"
    return False


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True, render_item=render_item
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives
    conf_args.setdefault("render_item", render_item)

    connectable = migration_engine()

    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args
        )

        with context.begin_transaction():
            context.run_migrations()
            if connection.dialect.name == "sqlite":  # foreign keys were off (migration_engine): check them
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows that point at nothing: {broken[:5]}")
    if connectable is not get_engine():
        connectable.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
