"""auditors: disabled by the body's staff, last login

Revision ID: 9e4b1c7d2a30
Revises: 5d2a7c4e8f61
Create Date: 2026-11-29 08:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e4b1c7d2a30'
down_revision = '5d2a7c4e8f61'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('auditor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('last_login_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('auditor', schema=None) as batch_op:
        batch_op.drop_column('last_login_at')
        batch_op.drop_column('disabled')
