"""The schema comes only from the migrations: they must agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from portal.extensions import db


def test_migrations_and_models_agree(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models and migrations differ: {differences}"


def test_every_school_owned_table_carries_school_id(app):
    people_and_schools = {
        "schools",
        "guardians",
        "alembic_version",
        "sign_in_requests",
        "sign_in_choices",
        "user_sessions",
        "bank_holidays",  # days off in England and Wales, the same for every school
        "daily_runs",  # which daily jobs have run, for every school at once
        # A staff user's second factors belong to the user (who has a school), never to a
        # school's data: they are reached only through the signed-in user.
        "staff_totp",
        "staff_passkeys",
        "staff_recovery_codes",
        "webauthn_challenges",
    }
    tables = set(inspect(db.engine).get_table_names())
    for table in sorted(tables - people_and_schools):
        columns = {c["name"] for c in inspect(db.engine).get_columns(table)}
        assert "school_id" in columns, f"{table} has no school_id"


def test_the_migrated_database_is_at_the_head_revision(app):
    from alembic.script import ScriptDirectory
    from flask import current_app

    config = current_app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
