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


# Before this revision every staff account has a body: the regulator's accounts (no body)
# cannot stay. What only they own goes with them; where another row names one of them, the
# name is cleared (the audit log keeps its actor's snapshot).
NO_BODY = "SELECT id FROM staff WHERE agency_id IS NULL"
CLEARED = (("audit_log", "staff_id"), ("api_token", "created_by_id"), ("api_token", "revoked_by_id"),
           ("plan_change", "staff_id"), ("phone_change_request", "decided_by_id"))
OWNED = (("staff_recovery_code", "staff_id"), ("export_job", "staff_id"), ("plan_upload", "staff_id"),
         ("exception_verification", "staff_id"))


def downgrade():
    for table, column in CLEARED:
        op.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} IN ({NO_BODY})")
    for table, column in OWNED:
        op.execute(f"DELETE FROM {table} WHERE {column} IN ({NO_BODY})")
    op.execute("DELETE FROM staff WHERE agency_id IS NULL")
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.alter_column('agency_id', existing_type=sa.Integer(), nullable=False)
