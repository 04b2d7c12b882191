"""front desk: a decision's version (two staff on one intake) and when it was processed; sessions made by splitting a couple booking; erased client records

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 07:05:24.690611

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('converted_from_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_booking_converted_from_id'), ['converted_from_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_booking_converted_from_id_booking'), 'booking', ['converted_from_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('routing_decision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('processed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_routing_decision_processed_by_id_staff_user'), 'staff_user', ['processed_by_id'], ['id'], ondelete='RESTRICT')



def downgrade():
    with op.batch_alter_table('routing_decision', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_routing_decision_processed_by_id_staff_user'), type_='foreignkey')
        batch_op.drop_column('version')
        batch_op.drop_column('processed_by_id')
        batch_op.drop_column('processed_at')

    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_column('erased_at')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_booking_converted_from_id_booking'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_booking_converted_from_id'))
        batch_op.drop_column('converted_from_id')

