"""the body's verifications of plans' exceptions (append only)

Revision ID: c8f3a6d21e90
Revises: b7c2e9d41a05
Create Date: 2026-11-29 10:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c8f3a6d21e90'
down_revision = 'b7c2e9d41a05'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('exception_verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('exceptions', sa.JSON(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('form_token', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['audit_plan.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'form_token')
    )
    with op.batch_alter_table('exception_verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exception_verification_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exception_verification_plan_id'), ['plan_id'], unique=False)


def downgrade():
    with op.batch_alter_table('exception_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exception_verification_plan_id'))
        batch_op.drop_index(batch_op.f('ix_exception_verification_agency_id'))
    op.drop_table('exception_verification')
