"""calendars: counselor feeds, CalDAV connections and events, session reminders, a counselor's telehealth link;
payments: the cancellation policy a payment was made under, a staff refund's one-time key

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:40:20

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('caldav_connection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counselor_id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('username', sa.String(length=200), nullable=False),
    sa.Column('password', sa.LargeBinary(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_synced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['counselor_id'], ['counselor.id'], name=op.f('fk_caldav_connection_counselor_id_counselor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caldav_connection')),
    sa.UniqueConstraint('counselor_id', name=op.f('uq_caldav_connection_counselor_id'))
    )
    op.create_table('counselor_feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counselor_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('token', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['counselor_id'], ['counselor.id'], name=op.f('fk_counselor_feed_counselor_id_counselor'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counselor_feed')),
    sa.UniqueConstraint('counselor_id', name=op.f('uq_counselor_feed_counselor_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_counselor_feed_token_hash'))
    )
    op.create_table('caldav_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('href', sa.String(length=500), nullable=True),
    sa.Column('pushed_sequence', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_caldav_event_booking_id_booking'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['connection_id'], ['caldav_connection.id'], name=op.f('fk_caldav_event_connection_id_caldav_connection'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caldav_event')),
    sa.UniqueConstraint('connection_id', 'booking_id', name=op.f('uq_caldav_event_connection_id'))
    )
    with op.batch_alter_table('caldav_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caldav_event_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_caldav_event_next_attempt_at'), ['next_attempt_at'], unique=False)

    op.create_table('session_reminder',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_session_reminder_booking_id_booking'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_reminder')),
    sa.UniqueConstraint('booking_id', 'starts_at', name=op.f('uq_session_reminder_booking_id'))
    )
    with op.batch_alter_table('counselor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('telehealth_url', sa.String(length=500), nullable=False, server_default=''))

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancellation_policy', sa.JSON(), nullable=True))

    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_refund_request_key'), ['request_key'])


def downgrade():
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_refund_request_key'), type_='unique')
        batch_op.drop_column('request_key')

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_column('cancellation_policy')

    with op.batch_alter_table('counselor', schema=None) as batch_op:
        batch_op.drop_column('telehealth_url')

    op.drop_table('session_reminder')
    with op.batch_alter_table('caldav_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caldav_event_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_caldav_event_booking_id'))

    op.drop_table('caldav_event')
    op.drop_table('counselor_feed')
    op.drop_table('caldav_connection')
