"""each school's Merkle tree over its ledger, and signed checkpoints

- ledger_tree_nodes: every complete node of each school's RFC 6962 tree over its events
  (level 0: the leaf hashes, SHA-256(0x00 || the event's canonical bytes)).
- ledger_heads.tree: the tree's right edge at the head's seq (the roots of its perfect
  subtrees, largest first), so that an append reads nothing more.
- ledger_checkpoints: the signed checkpoints (C2SP tlog-checkpoint notes) the portal serves.

Existing events are put in the tree here, school by school, from their canonical bytes (the
encoding is a fixed contract: the chain's hashes depend on it too).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-09 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.types
from portal.ledger.encoding import canonical
from portal.ledger.tree import Growing, leaf_of


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    op.create_table(
        'ledger_tree_nodes',
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('level', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('position', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('hash', sa.LargeBinary(), nullable=False),
        sa.CheckConstraint('level BETWEEN 0 AND 40', name=op.f('ck_ledger_tree_nodes_level')),
        sa.CheckConstraint('position >= 0', name=op.f('ck_ledger_tree_nodes_position')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_ledger_tree_nodes_school_id_schools')),
        sa.PrimaryKeyConstraint('school_id', 'level', 'position', name=op.f('pk_ledger_tree_nodes')),
    )
    op.create_table(
        'ledger_checkpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('root', sa.LargeBinary(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('verifier_key', sa.String(length=300), nullable=False),
        sa.Column('signed_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('size >= 0', name=op.f('ck_ledger_checkpoints_size')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_ledger_checkpoints_school_id_schools')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_checkpoints')),
        sa.UniqueConstraint('school_id', 'size', 'verifier_key', name=op.f('uq_ledger_checkpoints_school_id_size_verifier_key')),
    )
    with op.batch_alter_table('ledger_heads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tree', sa.LargeBinary(), nullable=True))
    _build_trees()


def _build_trees():
    bind = op.get_bind()
    events = sa.table(
        'consent_events',
        *(sa.column(name) for name in (
            'school_id', 'seq', 'occurred_at', 'actor_type', 'actor_id', 'guardian_id',
            'pupil_id', 'purpose_id', 'purpose_version', 'notice_version', 'decision',
            'channel', 'note', 'format', 'note_commitment', 'answers_seq', 'language',
        )),
    )
    occurred = sa.column('occurred_at', portal.types.UTCDateTime(timezone=True))
    nodes = sa.table(
        'ledger_tree_nodes', sa.column('school_id'), sa.column('level'),
        sa.column('position'), sa.column('hash', sa.LargeBinary()),
    )
    heads = sa.table('ledger_heads', sa.column('school_id'), sa.column('seq'),
                     sa.column('tree', sa.LargeBinary()))
    for school_id, head_seq in bind.execute(sa.select(heads.c.school_id, heads.c.seq)).all():
        tree = Growing(0, [])
        seq = 0
        query = (
            sa.select(*(c for c in events.c if c.name != 'occurred_at'), occurred)
            .where(events.c.school_id == school_id)
            .order_by(events.c.seq)
        )
        for row in bind.execute(query).mappings():
            seq += 1
            if row['seq'] != seq:
                raise RuntimeError(
                    f"school {school_id}: seq {seq} expected, found {row['seq']}; "
                    "run `flask ledger verify` on the previous version first"
                )
            fields = {key: row[key] for key in row.keys()}
            fields['format'] = fields['format'] or 1
            tree.append(leaf_of(canonical(**fields)))
            if len(tree.made) >= BATCH:
                _write(bind, nodes, school_id, tree.made)
                tree.made = []
        _write(bind, nodes, school_id, tree.made)
        if seq != head_seq:
            raise RuntimeError(
                f"school {school_id}: the chain head says seq {head_seq}, the events end at "
                f"{seq}; run `flask ledger verify` on the previous version first"
            )
        bind.execute(
            heads.update().where(heads.c.school_id == school_id).values(tree=tree.stored())
        )


def _write(bind, nodes, school_id, made):
    if made:
        bind.execute(
            nodes.insert(),
            [{'school_id': school_id, 'level': level, 'position': position, 'hash': digest}
             for level, position, digest in made],
        )


def downgrade():
    with op.batch_alter_table('ledger_heads', schema=None) as batch_op:
        batch_op.drop_column('tree')
    op.drop_table('ledger_checkpoints')
    op.drop_table('ledger_tree_nodes')
