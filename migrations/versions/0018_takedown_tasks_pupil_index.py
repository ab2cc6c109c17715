"""an index of take-down tasks by pupil: what was done for a child

A child's page and the family's history show what the school did for the child (the tasks
done for them). Without an index on the pupil, PostgreSQL read every task of every school to
find them, a cost that grows with each withdrawal the portal has ever recorded.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 10:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    # A plain index operation (not batch mode): SQLite creates it in place.
    op.create_index('ix_takedown_tasks_pupil', 'takedown_tasks', ['pupil_id', 'done_at'], unique=False)


def downgrade():
    op.drop_index('ix_takedown_tasks_pupil', table_name='takedown_tasks')
