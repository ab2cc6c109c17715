"""sign-in choices: who a sign-in may act as, held on the server and used once

An address that is both a parent and staff (or staff at several schools) chooses who to act
as after the link or code. The choice was kept in the signed session cookie for 300 seconds,
so a copy of that cookie could make more sessions. It is now a row, found by the SHA-256 of a
random id that the session keeps, and choosing marks it used with one conditional UPDATE
(docs/security.md, promise 7).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 12:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.types


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_in_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('options', sa.Text(), nullable=False),
    sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', portal.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', portal.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_choices')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sign_in_choices_token_hash'))
    )


def downgrade():
    op.drop_table('sign_in_choices')
