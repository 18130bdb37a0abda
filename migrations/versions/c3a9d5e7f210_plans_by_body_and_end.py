"""plans: an index of a body's plans by their end (today's board, its weekly chart)

Revision ID: c3a9d5e7f210
Revises: c5a8e1d07f42
Create Date: 2026-11-29 10:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3a9d5e7f210'
down_revision = 'c5a8e1d07f42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_plan', schema=None) as batch_op:
        batch_op.create_index('ix_audit_plan_agency_end', ['agency_id', 'end_utc'], unique=False)


def downgrade():
    with op.batch_alter_table('audit_plan', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_plan_agency_end')
