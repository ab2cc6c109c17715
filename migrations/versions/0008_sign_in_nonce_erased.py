"""sign-in requests: the nonce may be erased (NULL) once the email is written

The link's token and the code are derived from the nonce with SECRET_KEY. The nonce was kept
for the life of the row, so the database and the key together could rebuild a link; it is
now erased once the email is written, and when the request is used, superseded or found
expired (docs/security.md, promise 3).

Upgrade: the column becomes nullable; rows keep their nonce until the code next touches them.
Downgrade: erased nonces become '' (a request whose email is written again after the
downgrade gets a link that does not work, and the person asks for a new one).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sign_in_requests', schema=None) as batch_op:
        batch_op.alter_column('nonce', existing_type=sa.String(length=64), nullable=True)


def downgrade():
    op.execute("UPDATE sign_in_requests SET nonce = '' WHERE nonce IS NULL")
    with op.batch_alter_table('sign_in_requests', schema=None) as batch_op:
        batch_op.alter_column('nonce', existing_type=sa.String(length=64), nullable=False)
