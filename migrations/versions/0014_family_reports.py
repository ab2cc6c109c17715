"""family reports: a family tells the school's office a child is missing from their list, or
their details are wrong; a task in the staff's things to do until someone marks it done

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-14 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.types


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'family_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('guardian_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('details', sa.Text(), nullable=False),
        sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('done_at', portal.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('done_by_id', sa.Integer(), nullable=True),
        sa.Column('done_note', sa.Text(), nullable=True),
        sa.CheckConstraint("kind IN ('missing_child', 'details_wrong')", name=op.f('ck_family_reports_kind')),
        sa.CheckConstraint('(done_at IS NULL AND done_by_id IS NULL) OR done_at IS NOT NULL', name=op.f('ck_family_reports_done')),
        sa.ForeignKeyConstraint(['done_by_id'], ['staff_users.id'], name=op.f('fk_family_reports_done_by_id_staff_users')),
        sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'], name=op.f('fk_family_reports_guardian_id_guardians')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_family_reports_school_id_schools')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_family_reports')),
    )
    with op.batch_alter_table('family_reports', schema=None) as batch_op:
        batch_op.create_index('ix_family_reports_open', ['school_id', 'done_at'], unique=False)
        batch_op.create_index('ix_family_reports_guardian_time', ['guardian_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('family_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_family_reports_guardian_time')
        batch_op.drop_index('ix_family_reports_open')
    op.drop_table('family_reports')
