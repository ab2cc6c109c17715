"""school contacts: the name each school holds for a guardian, instead of one name per person

A guardian is one person across schools (one email, one sign-in), but the name was held on
the person: a roster imported at one school renamed the guardian for every other school's
staff. Each school now holds its own name for each guardian it links to (school_contacts,
written by that school's roster import only), and guardians lose their name columns.

Upgrade: every (school, guardian) pair that a link joins gets the guardian's name as it was.
Downgrade: each guardian gets back the name its lowest-numbered school holds (empty when no
school holds one).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('school_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('guardian_id', sa.Integer(), nullable=False),
    sa.Column('forename', sa.String(length=100), nullable=False),
    sa.Column('surname', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'], name=op.f('fk_school_contacts_guardian_id_guardians')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_school_contacts_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_contacts')),
    sa.UniqueConstraint('school_id', 'guardian_id', name=op.f('uq_school_contacts_school_id_guardian_id'))
    )
    with op.batch_alter_table('school_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_school_contacts_guardian_id'), ['guardian_id'], unique=False)

    op.execute(
        "INSERT INTO school_contacts (school_id, guardian_id, forename, surname)"
        " SELECT pairs.school_id, guardians.id, guardians.forename, guardians.surname"
        " FROM (SELECT DISTINCT school_id, guardian_id FROM guardian_links) AS pairs"
        " JOIN guardians ON guardians.id = pairs.guardian_id"
        " ORDER BY pairs.school_id, guardians.id"
    )
    # Plain DROP COLUMN (SQLite 3.35 and later drop a column in place): the guardians table,
    # which the ledger's rows refer to, is not rebuilt.
    op.drop_column('guardians', 'surname')
    op.drop_column('guardians', 'forename')


def downgrade():
    op.add_column('guardians', sa.Column('forename', sa.String(length=100), nullable=False, server_default=''))
    op.add_column('guardians', sa.Column('surname', sa.String(length=100), nullable=False, server_default=''))
    for column in ('forename', 'surname'):
        op.execute(
            f"UPDATE guardians SET {column} = (SELECT c.{column} FROM school_contacts AS c"
            " WHERE c.guardian_id = guardians.id ORDER BY c.school_id LIMIT 1)"
            " WHERE EXISTS (SELECT 1 FROM school_contacts AS c WHERE c.guardian_id = guardians.id)"
        )
    if op.get_bind().dialect.name != 'sqlite':
        # As 0001 made them (SQLite cannot drop a column's default without rebuilding the table).
        op.alter_column('guardians', 'forename', server_default=None)
        op.alter_column('guardians', 'surname', server_default=None)
    with op.batch_alter_table('school_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_school_contacts_guardian_id'))

    op.drop_table('school_contacts')
