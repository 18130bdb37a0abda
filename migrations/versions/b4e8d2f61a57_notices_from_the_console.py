"""notices from the console: Markdown bodies, drafts (no publishing time), withdrawal

Revision ID: b4e8d2f61a57
Revises: 2b685eaecef9
Create Date: 2026-11-29 10:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4e8d2f61a57'
down_revision = '2b685eaecef9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_format', sa.String(length=10), nullable=False, server_default='text'))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(), nullable=True))
        batch_op.alter_column('published_at', existing_type=sa.DateTime(), nullable=True)


def downgrade():
    # Drafts have no publishing time; they become visible at the downgrade's moment.
    op.execute("UPDATE notice SET published_at = CURRENT_TIMESTAMP WHERE published_at IS NULL")
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.alter_column('published_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('body_format')
