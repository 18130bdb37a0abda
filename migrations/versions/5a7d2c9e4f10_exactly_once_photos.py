"""exactly once: an action key is claimed before its request runs; one photo's bytes once per group

Revision ID: 5a7d2c9e4f10
Revises: 67f4cdc76688
Create Date: 2026-11-29 07:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a7d2c9e4f10'
down_revision = '67f4cdc76688'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.alter_column('status_code', existing_type=sa.Integer(), nullable=True)
    # Copies stored twice by requests that raced before this index existed: the first stays,
    # the later ones are hidden like a deleted photo (row and files kept as evidence).
    op.execute(
        'UPDATE photo SET deleted_at = uploaded_at WHERE deleted_at IS NULL AND EXISTS ('
        'SELECT 1 FROM photo AS earlier WHERE earlier.plan_id = photo.plan_id AND earlier."group" = photo."group" '
        'AND earlier.sha256_received = photo.sha256_received AND earlier.deleted_at IS NULL AND earlier.id < photo.id)'
    )
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.create_index('uq_photo_plan_group_bytes', ['plan_id', 'group', 'sha256_received'], unique=True,
                              sqlite_where=sa.text('deleted_at IS NULL'),
                              postgresql_where=sa.text('deleted_at IS NULL'))


def downgrade():
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_index('uq_photo_plan_group_bytes', sqlite_where=sa.text('deleted_at IS NULL'),
                            postgresql_where=sa.text('deleted_at IS NULL'))
    op.execute('DELETE FROM idempotency_record WHERE status_code IS NULL')
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.alter_column('status_code', existing_type=sa.Integer(), nullable=False)
