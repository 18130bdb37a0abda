"""phone change requests held for the body's approval, and the body's setting

Revision ID: b4e7a1c93d52
Revises: b7e2f4a91c05
Create Date: 2026-11-29 10:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4e7a1c93d52'
down_revision = 'b7e2f4a91c05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_change_approval', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))

    op.create_table('phone_change_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('auditor_id', sa.Integer(), nullable=False),
    sa.Column('old_phone', sa.String(length=20), nullable=False),
    sa.Column('new_phone', sa.String(length=20), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('outcome_seen_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['auditor_id'], ['auditor.id'], ),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('phone_change_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_change_request_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_change_request_auditor_id'), ['auditor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_phone_change_request_state'), ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('phone_change_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phone_change_request_state'))
        batch_op.drop_index(batch_op.f('ix_phone_change_request_auditor_id'))
        batch_op.drop_index(batch_op.f('ix_phone_change_request_agency_id'))

    op.drop_table('phone_change_request')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('phone_change_approval')
