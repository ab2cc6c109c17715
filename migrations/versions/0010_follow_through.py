"""follow-through: objection outcomes, runnable tasks, leavers, erasure, rights requests

- consent_events gets format 2: the hash covers a salted commitment to the note
  (note_salt, note_commitment) instead of its text, so a note can be erased and the chain
  still verify; events written before keep format 1. Format 2 also records the language
  of the wording the person saw (`language`). An objection's outcome (decisions
  `upheld` and `not_upheld`) names the objection it answers (answers_seq). The append-only
  triggers now allow exactly one UPDATE: erasing the note and salt of a format-2 event,
  every other column unchanged.
- purposes say how fast a take-down is done (takedown_days) and what happens when a pupil
  leaves (on_leaving, leaving_days, keep_months); schools say how long the family's details
  are kept after a pupil leaves (retention_months) and who is emailed about new tasks.
- takedown_tasks carry a kind (a take-down, or a task made by a pupil leaving), a due date
  and a note of what was removed and where.
- rights_requests and their changes; erasures (what the retention run erased); bank
  holidays an operator adds; daily_runs (one run of the daily jobs a day).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.types


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

DECISIONS = "decision IN ('grant', 'withdraw', 'object', 'lift_objection', 'upheld', 'not_upheld')"
OLD_DECISIONS = "decision IN ('grant', 'withdraw', 'object', 'lift_objection')"

# Every column of consent_events but the two an erasure may clear (note, note_salt).
KEPT_COLUMNS = (
    "id", "school_id", "seq", "occurred_at", "actor_type", "actor_id", "guardian_id",
    "pupil_id", "purpose_id", "purpose_version", "notice_version", "decision", "channel",
    "prev_hash", "hash", "format", "note_commitment", "answers_seq", "language",
)

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION consent_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.format = 2 AND NEW.note IS NULL AND NEW.note_salt IS NULL
       AND ({new}) IS NOT DISTINCT FROM ({old}) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
""".format(
    new=", ".join(f"NEW.{c}" for c in KEPT_COLUMNS),
    old=", ".join(f"OLD.{c}" for c in KEPT_COLUMNS),
)
OLD_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION consent_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""

SQLITE_ERASE_ONLY = (
    "CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events"
    " WHEN NOT (OLD.format = 2 AND NEW.note IS NULL AND NEW.note_salt IS NULL AND {same})"
    " BEGIN SELECT RAISE(ABORT, 'consent_events is append-only: UPDATE is not allowed'); END"
).format(same=" AND ".join(f"NEW.{c} IS OLD.{c}" for c in KEPT_COLUMNS))
SQLITE_TRIGGERS = {
    "UPDATE": (
        "CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events BEGIN"
        " SELECT RAISE(ABORT, 'consent_events is append-only: UPDATE is not allowed'); END"
    ),
    "DELETE": (
        "CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events BEGIN"
        " SELECT RAISE(ABORT, 'consent_events is append-only: DELETE is not allowed'); END"
    ),
}


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    if _sqlite():
        # A batch change copies the table into a new one; the triggers go with the old one.
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_delete")
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('format', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.add_column(sa.Column('note_salt', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('note_commitment', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('answers_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=35), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_consent_events_decision'), type_='check')
        batch_op.create_check_constraint('decision', DECISIONS)
        batch_op.create_check_constraint('format', 'format IN (1, 2)')
        batch_op.create_check_constraint(
            'format_1',
            'format = 2 OR (note_commitment IS NULL AND answers_seq IS NULL AND language IS NULL)',
        )
    if _sqlite():
        op.execute(SQLITE_ERASE_ONLY)
        op.execute(SQLITE_TRIGGERS["DELETE"])
    else:
        op.execute(PG_FUNCTION)
    op.create_index(
        'ix_consent_events_answers', 'consent_events', ['school_id', 'answers_seq'],
        unique=False, sqlite_where=sa.text('answers_seq IS NOT NULL'),
        postgresql_where=sa.text('answers_seq IS NOT NULL'),
    )

    with op.batch_alter_table('current_decisions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_current_decisions_decision'), type_='check')
        batch_op.create_check_constraint('decision', DECISIONS)

    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_months', sa.Integer(), server_default=sa.text('12'), nullable=False))
        batch_op.add_column(sa.Column('task_emails', sa.String(length=16), server_default='admins', nullable=False))
        batch_op.create_check_constraint('retention_months', 'retention_months BETWEEN 1 AND 1200')
        batch_op.create_check_constraint('task_emails', "task_emails IN ('admins', 'everyone', 'none')")

    with op.batch_alter_table('purposes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('takedown_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('on_leaving', sa.String(length=16), server_default='keep', nullable=False))
        batch_op.add_column(sa.Column('leaving_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('keep_months', sa.Integer(), nullable=True))
        batch_op.create_check_constraint('on_leaving', "on_leaving IN ('keep', 'remove', 'review')")
        batch_op.create_check_constraint('takedown_days', 'takedown_days IS NULL OR takedown_days BETWEEN 0 AND 60')
        batch_op.create_check_constraint('leaving_days', 'leaving_days IS NULL OR leaving_days BETWEEN 0 AND 60')
        batch_op.create_check_constraint('keep_months', 'keep_months IS NULL OR keep_months BETWEEN 0 AND 1200')

    for table in ('pupils', 'guardians', 'school_contacts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('erased_at', portal.types.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('takedown_tasks', schema=None) as batch_op:
        batch_op.alter_column('event_seq', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='takedown', nullable=False))
        batch_op.add_column(sa.Column('action', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('done_note', sa.Text(), nullable=True))
        batch_op.create_check_constraint('kind', "kind IN ('takedown', 'leaving')")
        batch_op.create_check_constraint(
            'kind_fields',
            "(kind = 'takedown' AND event_seq IS NOT NULL)"
            " OR (kind = 'leaving' AND action IN ('remove', 'review'))",
        )

    op.create_table('rights_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('guardian_id', sa.Integer(), nullable=True),
    sa.Column('requester_name', sa.String(length=200), nullable=False),
    sa.Column('requester_contact', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('paused_on', sa.Date(), nullable=True),
    sa.Column('paused_days', sa.Integer(), nullable=False),
    sa.Column('extension_months', sa.Integer(), nullable=False),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('extension_told_on', sa.Date(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('erased_at', portal.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('access', 'rectification', 'erasure', 'restriction', 'objection')", name=op.f('ck_rights_requests_kind')),
    sa.CheckConstraint("channel IN ('web', 'letter', 'phone', 'email', 'in_person')", name=op.f('ck_rights_requests_channel')),
    sa.CheckConstraint("status IN ('open', 'paused', 'answered', 'refused', 'withdrawn')", name=op.f('ck_rights_requests_status')),
    sa.CheckConstraint('paused_days >= 0', name=op.f('ck_rights_requests_paused_days')),
    sa.CheckConstraint('extension_months BETWEEN 0 AND 2', name=op.f('ck_rights_requests_extension_months')),
    sa.CheckConstraint("(status = 'paused') = (paused_on IS NOT NULL)", name=op.f('ck_rights_requests_paused_has_date')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_rights_requests_created_by_id_staff_users')),
    sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'], name=op.f('fk_rights_requests_guardian_id_guardians')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_rights_requests_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rights_requests'))
    )
    with op.batch_alter_table('rights_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rights_requests_guardian_id'), ['guardian_id'], unique=False)
        batch_op.create_index('ix_rights_requests_school_status_due', ['school_id', 'status', 'due_on'], unique=False)

    op.create_table('rights_request_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', portal.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('guardian_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'], name=op.f('fk_rights_request_changes_guardian_id_guardians')),
    sa.ForeignKeyConstraint(['request_id'], ['rights_requests.id'], name=op.f('fk_rights_request_changes_request_id_rights_requests')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_rights_request_changes_school_id_schools')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_rights_request_changes_staff_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rights_request_changes'))
    )
    with op.batch_alter_table('rights_request_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rights_request_changes_request_id'), ['request_id'], unique=False)

    op.create_table('erasures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('erased_at', portal.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('fields', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_erasures_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasures'))
    )
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.create_index('ix_erasures_school_time', ['school_id', 'erased_at'], unique=False)

    op.create_table('bank_holidays',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('added_at', portal.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_bank_holidays'))
    )
    op.create_table('daily_runs',
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('started_at', portal.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', portal.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('job', 'day', name=op.f('pk_daily_runs'))
    )


def downgrade():
    op.drop_table('daily_runs')
    op.drop_table('bank_holidays')
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.drop_index('ix_erasures_school_time')
    op.drop_table('erasures')
    with op.batch_alter_table('rights_request_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rights_request_changes_request_id'))
    op.drop_table('rights_request_changes')
    with op.batch_alter_table('rights_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_rights_requests_school_status_due')
        batch_op.drop_index(batch_op.f('ix_rights_requests_guardian_id'))
    op.drop_table('rights_requests')
    op.execute("DELETE FROM takedown_tasks WHERE kind <> 'takedown'")
    with op.batch_alter_table('takedown_tasks', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_takedown_tasks_kind_fields'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_takedown_tasks_kind'), type_='check')
        batch_op.drop_column('done_note')
        batch_op.drop_column('due_on')
        batch_op.drop_column('action')
        batch_op.drop_column('kind')
        batch_op.alter_column('event_seq', existing_type=sa.Integer(), nullable=False)
    for table in ('school_contacts', 'guardians', 'pupils'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('erased_at')
    with op.batch_alter_table('purposes', schema=None) as batch_op:
        for name in ('keep_months', 'leaving_days', 'takedown_days', 'on_leaving'):
            batch_op.drop_constraint(batch_op.f(f'ck_purposes_{name}'), type_='check')
        batch_op.drop_column('keep_months')
        batch_op.drop_column('leaving_days')
        batch_op.drop_column('on_leaving')
        batch_op.drop_column('takedown_days')
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_schools_task_emails'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_schools_retention_months'), type_='check')
        batch_op.drop_column('task_emails')
        batch_op.drop_column('retention_months')
    # Events in format 2 or with an outcome cannot be written back in format 1: a database
    # that has them cannot go below this revision.
    count = op.get_bind().execute(
        sa.text("SELECT count(*) FROM consent_events WHERE format <> 1 OR decision IN ('upheld', 'not_upheld')")
    ).scalar()
    if count:
        raise RuntimeError(f"{count} ledger events use format 2 or record an objection's outcome; cannot downgrade")
    with op.batch_alter_table('current_decisions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_current_decisions_decision'), type_='check')
        batch_op.create_check_constraint('decision', OLD_DECISIONS)
    op.drop_index('ix_consent_events_answers', table_name='consent_events')
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS consent_events_no_delete")
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_consent_events_format_1'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_consent_events_format'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_consent_events_decision'), type_='check')
        batch_op.create_check_constraint('decision', OLD_DECISIONS)
        batch_op.drop_column('language')
        batch_op.drop_column('answers_seq')
        batch_op.drop_column('note_commitment')
        batch_op.drop_column('note_salt')
        batch_op.drop_column('format')
    if _sqlite():
        op.execute(SQLITE_TRIGGERS["UPDATE"])
        op.execute(SQLITE_TRIGGERS["DELETE"])
    else:
        op.execute(OLD_PG_FUNCTION)
