"""open reviews: the plans that may need the body's verification (a marker the queue reads)

Revision ID: 777b4887533f
Revises: a7e2c4d9b113
Create Date: 2026-11-29 11:12:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '777b4887533f'
down_revision = 'a7e2c4d9b113'
branch_labels = None
depends_on = None

# The plans whose record may give an R10 exception, as services.open_reviews reads them
# (kept here as it was when the table was made: a migration does not follow the code).
BACKFILL = """
INSERT INTO open_review (plan_id, agency_id)
SELECT p.id, p.agency_id FROM audit_plan AS p
WHERE p.status != 'cancelled' AND p.mode != 'remote'
  AND NOT EXISTS (SELECT 1 FROM exception_verification AS v WHERE v.plan_id = p.id)
  AND (NOT EXISTS (SELECT 1 FROM check_event AS e WHERE e.plan_id = p.id AND e.kind = 'in' AND e.counts_for_team)
       OR NOT EXISTS (SELECT 1 FROM check_event AS e WHERE e.plan_id = p.id AND e.kind = 'out' AND e.counts_for_team)
       OR NOT EXISTS (SELECT 1 FROM photo AS f WHERE f.plan_id = p.id AND f."group" = 'first' AND f.deleted_at IS NULL)
       OR NOT EXISTS (SELECT 1 FROM photo AS f WHERE f.plan_id = p.id AND f."group" = 'last' AND f.deleted_at IS NULL)
       OR EXISTS (SELECT 1 FROM check_event AS e WHERE e.plan_id = p.id AND e.counts_for_team
                  AND e.nearest_site_distance_m > 5000))
"""


def upgrade():
    op.create_table('open_review',
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['audit_plan.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id')
    )
    with op.batch_alter_table('open_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_open_review_agency_id'), ['agency_id'], unique=False)
    op.execute(BACKFILL)


def downgrade():
    with op.batch_alter_table('open_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_open_review_agency_id'))
    op.drop_table('open_review')
