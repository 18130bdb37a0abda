"""plans: the history of changes made after the import (R19)

Revision ID: b7c2e9d41a05
Revises: b4e8d2f61a57
Create Date: 2026-11-29 10:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c2e9d41a05'
down_revision = 'b4e8d2f61a57'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'plan_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('actor', sa.String(length=140), nullable=True),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
        sa.ForeignKeyConstraint(['plan_id'], ['audit_plan.id'], ),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
        sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_change_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_change_plan_id'), ['plan_id'], unique=False)


def downgrade():
    with op.batch_alter_table('plan_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_change_plan_id'))
        batch_op.drop_index(batch_op.f('ix_plan_change_agency_id'))
    op.drop_table('plan_change')
