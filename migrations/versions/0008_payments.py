"""payments: a booking's payment, refunds, Stripe events applied, good-faith estimates

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:54:23

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # Existing rows get the defaults: no codes or identifiers yet (an admin fills them in), a late
    # cancellation keeps half the price, a service is a course of one session.
    op.create_table('processed_stripe_event',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processed_stripe_event'))
    )
    op.create_table('good_faith_estimate',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_good_faith_estimate_booking_id_booking'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_good_faith_estimate')),
    sa.UniqueConstraint('booking_id', name=op.f('uq_good_faith_estimate_booking_id'))
    )
    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('stripe_payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('client_secret', sa.LargeBinary(), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('awaiting', 'succeeded', 'failed', 'refunded', 'partially_refunded', name='payment_status', native_enum=False, length=20), nullable=False),
    sa.Column('amount_refunded', sa.Integer(), nullable=False),
    sa.Column('failure_message', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('succeeded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_amount')),
    sa.CheckConstraint('amount_refunded >= 0 AND amount_refunded <= amount', name=op.f('ck_payment_refunded')),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], name=op.f('fk_payment_booking_id_booking'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment')),
    sa.UniqueConstraint('booking_id', name=op.f('uq_payment_booking_id')),
    sa.UniqueConstraint('stripe_payment_intent_id', name=op.f('uq_payment_stripe_payment_intent_id'))
    )
    op.create_table('refund',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('requested_by', sa.String(length=300), nullable=False),
    sa.Column('state', sa.Enum('pending', 'succeeded', 'failed', name='refund_state', native_enum=False, length=20), nullable=False),
    sa.Column('stripe_refund_id', sa.String(length=255), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('failure', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('cancellation', 'staff', 'late_payment')", name=op.f('ck_refund_kind')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_refund_amount')),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], name=op.f('fk_refund_payment_id_payment'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund')),
    sa.UniqueConstraint('stripe_refund_id', name=op.f('uq_refund_stripe_refund_id'))
    )
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_payment_id'), ['payment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refund_state'), ['state'], unique=False)

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uses_insurance', sa.Boolean(), nullable=True))

    with op.batch_alter_table('counselor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('npi', sa.String(length=10), nullable=False, server_default=''))

    with op.batch_alter_table('practice_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('npi', sa.String(length=10), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tin', sa.String(length=20), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('late_cancel_policy', sa.String(length=20), nullable=False, server_default='fee_percent'))
        batch_op.add_column(sa.Column('late_cancel_fee', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('late_cancel_percent', sa.Integer(), nullable=False, server_default='50'))

    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_code', sa.String(length=10), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('expected_sessions', sa.Integer(), nullable=False, server_default='1'))



def downgrade():
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('expected_sessions')
        batch_op.drop_column('service_code')

    with op.batch_alter_table('practice_settings', schema=None) as batch_op:
        batch_op.drop_column('late_cancel_percent')
        batch_op.drop_column('late_cancel_fee')
        batch_op.drop_column('late_cancel_policy')
        batch_op.drop_column('address')
        batch_op.drop_column('tin')
        batch_op.drop_column('npi')

    with op.batch_alter_table('counselor', schema=None) as batch_op:
        batch_op.drop_column('npi')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('uses_insurance')

    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_state'))
        batch_op.drop_index(batch_op.f('ix_refund_payment_id'))

    op.drop_table('refund')
    op.drop_table('payment')
    op.drop_table('good_faith_estimate')
    op.drop_table('processed_stripe_event')
