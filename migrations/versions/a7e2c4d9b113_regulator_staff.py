"""the regulator's staff account belongs to no body: staff.agency_id may be NULL

Revision ID: a7e2c4d9b113
Revises: f50f155e68b3
Create Date: 2026-11-29 11:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7e2c4d9b113'
down_revision = 'f50f155e68b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.alter_column('agency_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.alter_column('agency_id', existing_type=sa.Integer(), nullable=False)
