"""team_member: an index of an auditor's plans (auditor, plan) in place of the auditor's alone

Revision ID: e4b7c2a9d815
Revises: b6e1f0c2d9a4
Create Date: 2026-11-29 13:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e4b7c2a9d815'
down_revision = 'b6e1f0c2d9a4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index('ix_team_member_auditor_plan', ['auditor_id', 'plan_id'], unique=False)
        batch_op.drop_index('ix_team_member_auditor_id')


def downgrade():
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index('ix_team_member_auditor_id', ['auditor_id'], unique=False)
        batch_op.drop_index('ix_team_member_auditor_plan')
