"""resend my link: a request is a row, handled after the response

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 04:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('link_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_link_request'))
    )
    with op.batch_alter_table('link_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_request_requested_at'), ['requested_at'], unique=False)


def downgrade():
    # Requests not yet handled are dropped with the table: whoever asked can ask again.
    with op.batch_alter_table('link_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_request_requested_at'))
    op.drop_table('link_request')
