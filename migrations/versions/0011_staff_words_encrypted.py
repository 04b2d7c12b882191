"""what people and staff write about a booking, encrypted at rest: its cancel reason and its refunds' reasons

A client's reason for cancelling is their own words; staff's (a cancel, a refund, splitting a couple booking)
may name the person or their situation. Both columns become ciphertext (practice.crypto, ENCRYPTION_KEYS, rotated
by `flask rotate-keys` like every encrypted column), and the rows already there are encrypted here, so the
migration needs the app's keys (`flask db upgrade` has them): unlike the others, it imports app code
(practice.crypto's keyring). Going back down gives the words back, cut to the old 500 characters (a split's
reason may be longer).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:40:00

"""
import sqlalchemy as sa
from alembic import op

from practice.crypto import keyring

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BATCH = 1000

# (table, column, nullable, what PostgreSQL puts in while the type goes back, before the words are written)
COLUMNS = (("booking", "cancel_reason", True, "NULL"), ("refund", "reason", False, "''"))


def upgrade():
    for table, column, nullable, _ in COLUMNS:
        plain = _read(table, column)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=500), type_=sa.LargeBinary(),
                                  existing_nullable=nullable, postgresql_using=f"convert_to({column}, 'UTF8')")
        _write(table, column, sa.LargeBinary(),
               {row_id: keyring.encrypt(value.encode("utf-8")) for row_id, value in plain.items()})


def downgrade():
    for table, column, nullable, placeholder in reversed(COLUMNS):
        plain = {row_id: keyring.decrypt(bytes(value)).decode("utf-8")[:500]
                 for row_id, value in _read(table, column).items()}
        with op.batch_alter_table(table, schema=None) as batch_op:  # ciphertext is longer than 500: not kept
            batch_op.alter_column(column, existing_type=sa.LargeBinary(), type_=sa.String(length=500),
                                  existing_nullable=nullable, postgresql_using=placeholder)
        _write(table, column, sa.String(length=500), plain)


def _read(table: str, column: str) -> dict:
    rows = op.get_bind().execute(sa.text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL"))
    return {row_id: value for row_id, value in rows}


def _write(table: str, column: str, type_, values: dict) -> None:
    statement = sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id").bindparams(
        sa.bindparam("value", type_=type_))
    items = [{"id": row_id, "value": value} for row_id, value in values.items()]
    for start in range(0, len(items), BATCH):
        op.get_bind().execute(statement, items[start:start + BATCH])
