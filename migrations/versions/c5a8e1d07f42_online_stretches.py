"""anomalies: when a login session was seen online, and the session a check event came with

Revision ID: c5a8e1d07f42
Revises: c8f3a6d21e90
Create Date: 2026-11-29 10:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5a8e1d07f42'
down_revision = 'c8f3a6d21e90'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'online_stretch',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_ref', sa.String(length=32), nullable=False),
        sa.Column('auditor_id', sa.Integer(), nullable=False),
        sa.Column('first_at', sa.DateTime(), nullable=False),
        sa.Column('last_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['auditor_id'], ['auditor.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('online_stretch', schema=None) as batch_op:
        batch_op.create_index('ix_online_stretch_session_last', ['session_ref', 'last_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_online_stretch_auditor_id'), ['auditor_id'], unique=False)
    with op.batch_alter_table('check_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_ref', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('check_event', schema=None) as batch_op:
        batch_op.drop_column('session_ref')
    with op.batch_alter_table('online_stretch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_online_stretch_auditor_id'))
        batch_op.drop_index('ix_online_stretch_session_last')
    op.drop_table('online_stretch')
