"""shared setting: facts every host must agree on (the SECRET_KEY's fingerprint)

Revision ID: b6e1f0c2d9a4
Revises: 777b4887533f
Create Date: 2026-11-29 13:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b6e1f0c2d9a4'
down_revision = '777b4887533f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('shared_setting',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade():
    op.drop_table('shared_setting')
