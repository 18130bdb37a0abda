"""team_member: the plan's start, end, enterprise and project levels copied on its team rows, indexed by auditor

Revision ID: f7d3a1c5b902
Revises: e4b7c2a9d815
Create Date: 2026-11-29 13:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f7d3a1c5b902'
down_revision = 'e4b7c2a9d815'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_start_utc', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('plan_end_utc', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('plan_enterprise_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('plan_levels', sa.Text(), nullable=True))
    copied = ", ".join(f"{name} = (SELECT {value} FROM audit_plan WHERE audit_plan.id = team_member.plan_id)"
                       for name, value in (("plan_start_utc", "start_utc"), ("plan_end_utc", "end_utc"),
                                           ("plan_enterprise_id", "enterprise_id"),
                                           ("plan_levels", "CAST(project_levels AS TEXT)")))
    op.execute(f"UPDATE team_member SET {copied}")
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        times = ['plan_end_utc', 'plan_start_utc', 'plan_id']
        batch_op.create_index('ix_team_member_auditor_end', ['auditor_id', *times], unique=False)
        batch_op.create_index('ix_team_member_auditor_enterprise', ['auditor_id', 'plan_enterprise_id', *times], unique=False)
        batch_op.create_index('ix_team_member_auditor_levels', ['auditor_id', 'plan_levels', *times], unique=False)
        batch_op.drop_index('ix_team_member_auditor_plan')


def downgrade():
    with op.batch_alter_table('team_member', schema=None) as batch_op:
        batch_op.create_index('ix_team_member_auditor_plan', ['auditor_id', 'plan_id'], unique=False)
        batch_op.drop_index('ix_team_member_auditor_end')
        batch_op.drop_index('ix_team_member_auditor_enterprise')
        batch_op.drop_index('ix_team_member_auditor_levels')
        batch_op.drop_column('plan_levels')
        batch_op.drop_column('plan_enterprise_id')
        batch_op.drop_column('plan_end_utc')
        batch_op.drop_column('plan_start_utc')
