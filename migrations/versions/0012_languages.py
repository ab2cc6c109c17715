"""languages: a parent's language, and what the school writes in other languages

- guardians.language: the BCP 47 tag of the language a parent or carer reads the portal and
  their emails in (none: English, or what the browser asks for); language_chosen: whether
  they chose it themselves (then a roster import no longer changes it).
- notice_translations: a school's translation of one version of its privacy notice into one
  language (a version's translations are published after it, never change, and one per
  language).
- purpose_translations: the title and wording of one version of a purpose in one language.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.types


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('guardians', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column('language_chosen', sa.Boolean(), nullable=False, server_default=sa.false())
        )

    op.create_table(
        'notice_translations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('notice_version_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('source_format', sa.String(length=16), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('body_html', sa.Text(), nullable=False),
        sa.Column('brief', sa.Text(), nullable=True),
        sa.Column('brief_html', sa.Text(), nullable=True),
        sa.Column('published_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('published_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "source_format IN ('markdown', 'text')", name=op.f('ck_notice_translations_source_format')
        ),
        sa.CheckConstraint("language <> 'en'", name=op.f('ck_notice_translations_not_english')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_notice_translations_school_id_schools')),
        sa.ForeignKeyConstraint(['notice_version_id'], ['notice_versions.id'], name=op.f('fk_notice_translations_notice_version_id_notice_versions')),
        sa.ForeignKeyConstraint(['published_by_id'], ['staff_users.id'], name=op.f('fk_notice_translations_published_by_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_translations')),
        sa.UniqueConstraint('notice_version_id', 'language', name=op.f('uq_notice_translations_notice_version_id_language')),
    )
    op.create_index(op.f('ix_notice_translations_school_id'), 'notice_translations', ['school_id'])

    op.create_table(
        'purpose_translations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('purpose_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("language <> 'en'", name=op.f('ck_purpose_translations_not_english')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_purpose_translations_school_id_schools')),
        sa.ForeignKeyConstraint(['purpose_id'], ['purposes.id'], name=op.f('fk_purpose_translations_purpose_id_purposes')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_purpose_translations')),
        sa.UniqueConstraint('purpose_id', 'version', 'language', name=op.f('uq_purpose_translations_purpose_id_version_language')),
    )
    op.create_index(op.f('ix_purpose_translations_school_id'), 'purpose_translations', ['school_id'])


def downgrade():
    op.drop_index(op.f('ix_purpose_translations_school_id'), table_name='purpose_translations')
    op.drop_table('purpose_translations')
    op.drop_index(op.f('ix_notice_translations_school_id'), table_name='notice_translations')
    op.drop_table('notice_translations')
    with op.batch_alter_table('guardians', schema=None) as batch_op:
        batch_op.drop_column('language_chosen')
        batch_op.drop_column('language')
