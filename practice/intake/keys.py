"""`flask --app app rotate-keys`: re-encrypt every encrypted column with the newest key.

Rotation: put a new key first in ENCRYPTION_KEYS (keeping the old ones after it) and restart; everything
stays readable, and new writes use the new key. Then run this command; once it reports, the old keys can be
removed. It covers every EncryptedJSON / EncryptedText column of every table (intake answers, routing
decisions, staff two-step secrets), reading and writing the ciphertext as is: no plaintext is ever loaded into
an ORM object, logged or printed.
"""
from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import LargeBinary, select, type_coerce, update

from practice.crypto import EncryptedJSON, EncryptedText, keyring
from practice.extensions import db

BATCH = 500


def encrypted_columns() -> list[tuple]:
    """(table, column) for every encrypted column the models declare."""
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (EncryptedJSON, EncryptedText)):
                found.append((table, column))
    return found


def rotate_all() -> dict[str, int]:
    """Re-encrypt every value with the first key; returns "table.column" -> values rewritten. Commits per table."""
    counts = {}
    for table, column in encrypted_columns():
        [key] = table.primary_key.columns
        raw = type_coerce(column, LargeBinary)
        rewritten = 0
        rows = db.session.execute(select(key, raw.label("value")).where(column.is_not(None))).all()
        for start in range(0, len(rows), BATCH):
            for row_key, value in rows[start:start + BATCH]:
                rotated = keyring.rotate(bytes(value))
                db.session.execute(update(table).where(key == row_key)
                                   .values({column.name: type_coerce(rotated, LargeBinary)}))
                rewritten += 1
            db.session.commit()
        counts[f"{table.name}.{column.name}"] = rewritten
    return counts


@click.command("rotate-keys")
@with_appcontext
def rotate_keys_command() -> None:
    """Re-encrypt intake answers and every other encrypted value with the first of ENCRYPTION_KEYS."""
    for name, count in rotate_all().items():
        click.echo(f"{name}: {count} re-encrypted")
    click.echo("Done. Keys after the first one can now be removed from ENCRYPTION_KEYS.")
