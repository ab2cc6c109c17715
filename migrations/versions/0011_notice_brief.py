"""notice brief: "the notice in brief" families read before the full privacy notice

notice_versions gets `brief` (the school's short plain-text summary) and `brief_html` (its
rendering, made once when the version is published, as body_html is). Both are nullable:
versions published before have no brief and keep their body_html unchanged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 22:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notice_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('brief', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('brief_html', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('notice_versions', schema=None) as batch_op:
        batch_op.drop_column('brief_html')
        batch_op.drop_column('brief')
