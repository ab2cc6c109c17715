"""renewal reminders and the biometric rule

- schools.renewal_reminders: whether the daily job emails a parent or carer when an answer
  of theirs needs renewing (on for every school, existing ones too).
- renewal_reminders: when each guardian was last reminded by each school, one row per
  school and guardian, so that nobody gets two reminders from a school within 14 days.
- purposes.guardian_rule may be 'biometric' (the Protection of Freedoms Act 2012).
- pupil_refusals: a pupil's own refusal of a biometric purpose (or its lifting), recorded
  by staff; append-only, like the audit log (the database refuses UPDATE and DELETE).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.types


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

RULES = "guardian_rule IN ('any_objection_blocks', 'latest_wins', 'biometric')"
OLD_RULES = "guardian_rule IN ('any_objection_blocks', 'latest_wins')"

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION pupil_refusals_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'pupil_refusals is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('renewal_reminders', sa.Boolean(), nullable=False, server_default=sa.true())
        )

    with op.batch_alter_table('purposes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_purposes_guardian_rule'), type_='check')
        batch_op.create_check_constraint('guardian_rule', RULES)

    op.create_table(
        'renewal_reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('guardian_id', sa.Integer(), nullable=False),
        sa.Column('reminded_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'], name=op.f('fk_renewal_reminders_guardian_id_guardians')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_renewal_reminders_school_id_schools')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_renewal_reminders')),
        sa.UniqueConstraint('school_id', 'guardian_id', name=op.f('uq_renewal_reminders_school_id_guardian_id')),
    )
    op.create_index(op.f('ix_renewal_reminders_guardian_id'), 'renewal_reminders', ['guardian_id'])

    op.create_table(
        'pupil_refusals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('pupil_id', sa.Integer(), nullable=False),
        sa.Column('purpose_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('how', sa.String(length=16), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('refuse', 'lift')", name=op.f('ck_pupil_refusals_action')),
        sa.CheckConstraint("how IN ('in_person', 'in_writing')", name=op.f('ck_pupil_refusals_how')),
        sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_pupil_refusals_pupil_id_pupils')),
        sa.ForeignKeyConstraint(['purpose_id'], ['purposes.id'], name=op.f('fk_pupil_refusals_purpose_id_purposes')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['staff_users.id'], name=op.f('fk_pupil_refusals_recorded_by_id_staff_users')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_pupil_refusals_school_id_schools')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pupil_refusals')),
    )
    op.create_index(
        'ix_pupil_refusals_standing', 'pupil_refusals', ['school_id', 'pupil_id', 'purpose_id', 'id']
    )
    if _postgresql():
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER pupil_refusals_no_update_or_delete BEFORE UPDATE OR DELETE"
            " ON pupil_refusals FOR EACH ROW EXECUTE FUNCTION pupil_refusals_append_only()"
        )
        op.execute(
            "CREATE TRIGGER pupil_refusals_no_truncate BEFORE TRUNCATE"
            " ON pupil_refusals FOR EACH STATEMENT EXECUTE FUNCTION pupil_refusals_append_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER pupil_refusals_no_{operation.lower()} BEFORE {operation}"
                " ON pupil_refusals BEGIN SELECT RAISE(ABORT,"
                f" 'pupil_refusals is append-only: {operation} is not allowed'); END"
            )


def downgrade():
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS pupil_refusals_no_truncate ON pupil_refusals")
        op.execute("DROP TRIGGER IF EXISTS pupil_refusals_no_update_or_delete ON pupil_refusals")
        op.execute("DROP FUNCTION IF EXISTS pupil_refusals_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS pupil_refusals_no_update")
        op.execute("DROP TRIGGER IF EXISTS pupil_refusals_no_delete")
    op.drop_index('ix_pupil_refusals_standing', table_name='pupil_refusals')
    op.drop_table('pupil_refusals')
    op.drop_index(op.f('ix_renewal_reminders_guardian_id'), table_name='renewal_reminders')
    op.drop_table('renewal_reminders')

    with op.batch_alter_table('purposes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_purposes_guardian_rule'), type_='check')
        batch_op.create_check_constraint('guardian_rule', OLD_RULES)

    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.drop_column('renewal_reminders')
