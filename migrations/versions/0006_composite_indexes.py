"""composite indexes for the pages under load: a class's contacts, a pupil's decisions on a purpose

Each replaces a single-column index that is its first column, so there is no more to write
on each append than before:
- guardian_links (school_id) becomes (school_id, pupil_id): the guardians of some pupils of a
  school (a class in the photo check, a child's page), found without reading every link of
  the school;
- consent_events (pupil_id) becomes (pupil_id, purpose_id, seq): one pupil's decisions on one
  purpose in order (the take-down check that follows each decision), found without reading
  every decision about the pupil.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # Plain index operations (not batch mode): SQLite creates and drops indexes in place, so
    # the ledger table (and its append-only triggers) is never rebuilt.
    op.create_index('ix_guardian_links_school_pupil', 'guardian_links', ['school_id', 'pupil_id'], unique=False)
    op.drop_index('ix_guardian_links_school_id', table_name='guardian_links')
    op.create_index('ix_consent_events_pupil_purpose_seq', 'consent_events', ['pupil_id', 'purpose_id', 'seq'], unique=False)
    op.drop_index('ix_consent_events_pupil_id', table_name='consent_events')


def downgrade():
    op.create_index('ix_consent_events_pupil_id', 'consent_events', ['pupil_id'], unique=False)
    op.drop_index('ix_consent_events_pupil_purpose_seq', table_name='consent_events')
    op.create_index('ix_guardian_links_school_id', 'guardian_links', ['school_id'], unique=False)
    op.drop_index('ix_guardian_links_school_pupil', table_name='guardian_links')
