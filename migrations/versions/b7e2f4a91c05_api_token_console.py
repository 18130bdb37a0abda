"""api tokens on the console: name, who made and revoked them, last use

Revision ID: b7e2f4a91c05
Revises: 9e4b1c7d2a30
Create Date: 2026-11-29 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e2f4a91c05'
down_revision = '9e4b1c7d2a30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_from', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key('fk_api_token_created_by_id_staff', 'staff', ['created_by_id'], ['id'])
        batch_op.create_foreign_key('fk_api_token_revoked_by_id_staff', 'staff', ['revoked_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_constraint('fk_api_token_revoked_by_id_staff', type_='foreignkey')
        batch_op.drop_constraint('fk_api_token_created_by_id_staff', type_='foreignkey')
        batch_op.drop_column('last_used_from')
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('revoked_by_id')
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('name')
