"""second factor: staff users' authenticator apps, passkeys and recovery codes

- staff_totp: an authenticator app's secret, encrypted, with the time step of the last code
  accepted (a code works once); unconfirmed rows are set-ups in progress.
- staff_passkeys: WebAuthn credentials (id, public key, signature counter, a name).
- staff_recovery_codes: ten single-use codes per user, stored as HMACs.
- webauthn_challenges: challenges held on the server, single-use and expiring.
- user_sessions.second_factor / second_factor_at: which second factor a staff session passed
  last, and when (the fresh check before the riskiest actions reads it).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.types


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_factor', sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column('second_factor_at', portal.types.UTCDateTime(timezone=True), nullable=True)
        )

    op.create_table(
        'staff_totp',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=False),
        sa.Column('secret_sealed', sa.String(length=200), nullable=False),
        sa.Column('last_step', sa.BigInteger(), nullable=True),
        sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('confirmed_at', portal.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_staff_totp_staff_user_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_totp')),
    )
    op.create_index(op.f('ix_staff_totp_staff_user_id'), 'staff_totp', ['staff_user_id'])

    op.create_table(
        'staff_passkeys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.String(length=1400), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('sign_count', sa.BigInteger(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('transports', sa.String(length=200), nullable=False),
        sa.Column('backed_up', sa.Boolean(), nullable=False),
        sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', portal.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_staff_passkeys_staff_user_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_passkeys')),
        sa.UniqueConstraint('credential_id', name=op.f('uq_staff_passkeys_credential_id')),
    )
    op.create_index(op.f('ix_staff_passkeys_staff_user_id'), 'staff_passkeys', ['staff_user_id'])

    op.create_table(
        'staff_recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', portal.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_staff_recovery_codes_staff_user_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_recovery_codes')),
    )
    op.create_index(op.f('ix_staff_recovery_codes_staff_user_id'), 'staff_recovery_codes', ['staff_user_id'])

    op.create_table(
        'webauthn_challenges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=False),
        sa.Column('ceremony', sa.String(length=16), nullable=False),
        sa.Column('challenge_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', portal.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("ceremony IN ('register', 'authenticate')", name=op.f('ck_webauthn_challenges_ceremony')),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_webauthn_challenges_staff_user_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webauthn_challenges')),
        sa.UniqueConstraint('challenge_hash', name=op.f('uq_webauthn_challenges_challenge_hash')),
    )
    op.create_index(op.f('ix_webauthn_challenges_staff_user_id'), 'webauthn_challenges', ['staff_user_id'])


def downgrade():
    op.drop_index(op.f('ix_webauthn_challenges_staff_user_id'), table_name='webauthn_challenges')
    op.drop_table('webauthn_challenges')
    op.drop_index(op.f('ix_staff_recovery_codes_staff_user_id'), table_name='staff_recovery_codes')
    op.drop_table('staff_recovery_codes')
    op.drop_index(op.f('ix_staff_passkeys_staff_user_id'), table_name='staff_passkeys')
    op.drop_table('staff_passkeys')
    op.drop_index(op.f('ix_staff_totp_staff_user_id'), table_name='staff_totp')
    op.drop_table('staff_totp')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('second_factor_at')
        batch_op.drop_column('second_factor')
