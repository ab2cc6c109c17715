"""a school's generation, moved on by the database when its purposes or classes change

- schools.generation: a number that triggers move on whenever a row of `purposes` is
  inserted, changed or deleted, or a pupil joins, leaves (on_roll) or changes class or year
  group. Each app process keeps a school's active purposes and classes for one generation
  (portal/school_cache.py), read with a row each page reads anyway.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION schools_next_generation() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE schools SET generation = generation + 1 WHERE id = OLD.school_id;
    ELSE
        UPDATE schools SET generation = generation + 1 WHERE id = NEW.school_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
PG_TRIGGERS = [
    "CREATE TRIGGER purposes_next_generation AFTER INSERT OR UPDATE OR DELETE ON purposes"
    " FOR EACH ROW EXECUTE FUNCTION schools_next_generation()",
    "CREATE TRIGGER pupils_next_generation_on_change AFTER INSERT OR DELETE ON pupils"
    " FOR EACH ROW EXECUTE FUNCTION schools_next_generation()",
    "CREATE TRIGGER pupils_next_generation_on_class AFTER UPDATE OF class_name, year_group,"
    " on_roll ON pupils FOR EACH ROW WHEN (OLD.class_name IS DISTINCT FROM NEW.class_name"
    " OR OLD.year_group IS DISTINCT FROM NEW.year_group OR OLD.on_roll IS DISTINCT FROM"
    " NEW.on_roll) EXECUTE FUNCTION schools_next_generation()",
]
SQLITE_TRIGGERS = [
    "CREATE TRIGGER purposes_next_generation_insert AFTER INSERT ON purposes BEGIN"
    " UPDATE schools SET generation = generation + 1 WHERE id = NEW.school_id; END",
    "CREATE TRIGGER purposes_next_generation_update AFTER UPDATE ON purposes BEGIN"
    " UPDATE schools SET generation = generation + 1 WHERE id = NEW.school_id; END",
    "CREATE TRIGGER purposes_next_generation_delete AFTER DELETE ON purposes BEGIN"
    " UPDATE schools SET generation = generation + 1 WHERE id = OLD.school_id; END",
    "CREATE TRIGGER pupils_next_generation_insert AFTER INSERT ON pupils BEGIN"
    " UPDATE schools SET generation = generation + 1 WHERE id = NEW.school_id; END",
    "CREATE TRIGGER pupils_next_generation_delete AFTER DELETE ON pupils BEGIN"
    " UPDATE schools SET generation = generation + 1 WHERE id = OLD.school_id; END",
    "CREATE TRIGGER pupils_next_generation_class AFTER UPDATE OF class_name, year_group,"
    " on_roll ON pupils WHEN OLD.class_name IS NOT NEW.class_name OR OLD.year_group IS NOT"
    " NEW.year_group OR OLD.on_roll IS NOT NEW.on_roll BEGIN UPDATE schools SET"
    " generation = generation + 1 WHERE id = NEW.school_id; END",
]
TRIGGER_NAMES = {
    "postgresql": [
        ("purposes_next_generation", "purposes"),
        ("pupils_next_generation_on_change", "pupils"),
        ("pupils_next_generation_on_class", "pupils"),
    ],
    "sqlite": [
        ("purposes_next_generation_insert", "purposes"),
        ("purposes_next_generation_update", "purposes"),
        ("purposes_next_generation_delete", "purposes"),
        ("pupils_next_generation_insert", "pupils"),
        ("pupils_next_generation_delete", "pupils"),
        ("pupils_next_generation_class", "pupils"),
    ],
}


def upgrade():
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('generation', sa.BigInteger(), nullable=False, server_default=sa.text('0'))
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for name, table in TRIGGER_NAMES["postgresql" if dialect == "postgresql" else "sqlite"]:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS schools_next_generation()")
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.drop_column('generation')
