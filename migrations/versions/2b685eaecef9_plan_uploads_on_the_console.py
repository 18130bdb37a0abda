"""plan uploads on the console

Revision ID: 2b685eaecef9
Revises: b4e7a1c93d52
Create Date: 2026-11-29 10:02:21.880903

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2b685eaecef9'
down_revision = 'b4e7a1c93d52'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('plan_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('phase', sa.String(length=20), nullable=True),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('outcome', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_upload_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_upload_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_upload_staff_id'), ['staff_id'], unique=False)


def downgrade():
    with op.batch_alter_table('plan_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_upload_staff_id'))
        batch_op.drop_index(batch_op.f('ix_plan_upload_expires_at'))
        batch_op.drop_index(batch_op.f('ix_plan_upload_agency_id'))

    op.drop_table('plan_upload')
