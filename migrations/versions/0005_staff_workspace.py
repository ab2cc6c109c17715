"""staff workspace: audit log (append-only), take-down tasks, invitation batches, notice summary

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:05:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.types


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION staff_audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'staff_audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def upgrade():
    op.create_table('staff_audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', portal.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_staff_audit_log_school_id_schools')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_staff_audit_log_staff_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_audit_log'))
    )
    with op.batch_alter_table('staff_audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_staff_audit_log_school_time', ['school_id', 'occurred_at'], unique=False)

    op.create_table('takedown_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('pupil_id', sa.Integer(), nullable=False),
    sa.Column('purpose_id', sa.Integer(), nullable=False),
    sa.Column('event_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', portal.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(done_at IS NULL AND done_by_id IS NULL) OR done_at IS NOT NULL', name=op.f('ck_takedown_tasks_done')),
    sa.ForeignKeyConstraint(['done_by_id'], ['staff_users.id'], name=op.f('fk_takedown_tasks_done_by_id_staff_users')),
    sa.ForeignKeyConstraint(['pupil_id'], ['pupils.id'], name=op.f('fk_takedown_tasks_pupil_id_pupils')),
    sa.ForeignKeyConstraint(['purpose_id'], ['purposes.id'], name=op.f('fk_takedown_tasks_purpose_id_purposes')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_takedown_tasks_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_takedown_tasks')),
    sa.UniqueConstraint('school_id', 'event_seq', 'purpose_id', name=op.f('uq_takedown_tasks_school_id_event_seq_purpose_id'))
    )
    with op.batch_alter_table('takedown_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_takedown_tasks_open', ['school_id', 'done_at'], unique=False)

    op.create_table('invitation_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('audience', sa.String(length=32), nullable=False),
    sa.Column('class_name', sa.String(length=64), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.CheckConstraint("audience IN ('all', 'class', 'needs_answer')", name=op.f('ck_invitation_batches_audience')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_invitation_batches_created_by_id_staff_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_invitation_batches_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation_batches'))
    )
    with op.batch_alter_table('invitation_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_batches_school_id'), ['school_id'], unique=False)

    with op.batch_alter_table('notice_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('published_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notice_versions_published_by_id_staff_users'), 'staff_users', ['published_by_id'], ['id'])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER staff_audit_log_no_update_or_delete BEFORE UPDATE OR DELETE"
            " ON staff_audit_log FOR EACH ROW EXECUTE FUNCTION staff_audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER staff_audit_log_no_truncate BEFORE TRUNCATE"
            " ON staff_audit_log FOR EACH STATEMENT EXECUTE FUNCTION staff_audit_log_append_only()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER staff_audit_log_no_{operation.lower()} BEFORE {operation}"
                " ON staff_audit_log BEGIN SELECT RAISE(ABORT,"
                f" 'staff_audit_log is append-only: {operation} is not allowed'); END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS staff_audit_log_no_truncate ON staff_audit_log")
        op.execute("DROP TRIGGER IF EXISTS staff_audit_log_no_update_or_delete ON staff_audit_log")
        op.execute("DROP FUNCTION IF EXISTS staff_audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS staff_audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS staff_audit_log_no_delete")
    with op.batch_alter_table('notice_versions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notice_versions_published_by_id_staff_users'), type_='foreignkey')
        batch_op.drop_column('published_by_id')
        batch_op.drop_column('summary')
    with op.batch_alter_table('invitation_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_batches_school_id'))
    op.drop_table('invitation_batches')
    with op.batch_alter_table('takedown_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_takedown_tasks_open')
    op.drop_table('takedown_tasks')
    with op.batch_alter_table('staff_audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_audit_log_school_time')
    op.drop_table('staff_audit_log')
