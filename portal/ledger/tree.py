"""Each school's Merkle tree (RFC 6962) over its ledger events, stored so that an append and
a proof each cost O(log n) (docs/ledger.md, "The Merkle tree").

What is stored
--------------
- `ledger_tree_nodes`: every *complete* node, the hash of the `2**level` leaves from
  `position * 2**level` (level 0: the leaf hashes, leaf index = seq - 1). Appending leaf `i`
  completes the leaf and one node per trailing 1-bit of `i`: two rows an event on average,
  never more than 1 + log2(n).
- `ledger_heads.tree`: the tree's right edge, the roots of the perfect subtrees that make up
  the tree of `seq` leaves, largest first (one per 1-bit of `seq`). With it an append needs no
  read but the chain head it already locks, and the root is a fold of at most 32 hashes.

Any subtree RFC 6962 names, `MTH(D[a:b])`, starts at a multiple of a power of two at least
`b - a`, so it splits into complete nodes of decreasing size (the 1-bits of `b - a`): a proof
is a handful of those nodes, read in one query, combined here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, delete, insert, or_, select
from sqlalchemy.orm import Session

from ..models import LedgerTreeNode
from .merkle import EMPTY_ROOT, node_hash

HASH_BYTES = 32
Node = tuple[int, int]  # (level, position)
Range = tuple[int, int]  # leaves [start, end)


def leaf_of(canonical_text: str) -> bytes:
    """The leaf hash of an event: SHA-256(0x00 || its canonical bytes)."""
    return hashlib.sha256(b"\x00" + canonical_text.encode("utf-8")).digest()


# --- the right edge -------------------------------------------------------------------------


def edge_from_bytes(stored: bytes) -> list[bytes]:
    if len(stored) % HASH_BYTES:
        raise ValueError("the stored tree edge is not a whole number of hashes")
    return [stored[i : i + HASH_BYTES] for i in range(0, len(stored), HASH_BYTES)]


def edge_root(edge: Sequence[bytes]) -> bytes:
    """The root of a tree from its right edge (the perfect subtrees, largest first)."""
    if not edge:
        return EMPTY_ROOT
    result = edge[-1]
    for left in reversed(edge[:-1]):
        result = node_hash(left, result)
    return result


@dataclass
class Growing:
    """A tree being appended to: its size, its right edge, and the complete nodes each
    append made (to be written)."""

    size: int
    edge: list[bytes]

    def __post_init__(self) -> None:
        if len(self.edge) != self.size.bit_count():
            raise ValueError(
                f"a tree of {self.size} leaves has {self.size.bit_count()} edge hashes, "
                f"not {len(self.edge)}"
            )
        self.made: list[tuple[int, int, bytes]] = []

    @classmethod
    def from_stored(cls, size: int, stored: bytes) -> Growing:
        return cls(size, edge_from_bytes(stored))

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash; record the complete nodes it makes."""
        position, level, node = self.size, 0, leaf
        self.made.append((0, position, node))
        while position & 1:
            node = node_hash(self.edge.pop(), node)
            position >>= 1
            level += 1
            self.made.append((level, position, node))
        self.edge.append(node)
        self.size += 1

    def stored(self) -> bytes:
        return b"".join(self.edge)

    @property
    def root(self) -> bytes:
        return edge_root(self.edge)


# --- the ranges a proof needs (RFC 6962, section 2.1.1 and 2.1.2) ---------------------------


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees whose hashes make PATH(index, D[size]), leaf to root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    found: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            found.append((start + k, end))
            end = start + k
        else:
            found.append((start, start + k))
            start = start + k
    found.reverse()
    return found


def consistency_ranges(first: int, size: int) -> list[Range]:
    """The subtrees whose hashes make PROOF(first, D[size]), in the RFC's order."""
    if not 0 < first <= size:
        raise ValueError(f"no consistency proof from {first} to {size}")
    found: list[Range] = []
    m, start, end, complete = first, 0, size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            found.append((start + k, end))
            end = start + k
        else:
            found.append((start, start + k))
            m -= k
            start += k
            complete = False
    if not complete:
        found.append((start, end))
    found.reverse()
    return found


def perfect_nodes(start: int, end: int) -> list[Node]:
    """The complete nodes that make up MTH(D[start:end]), largest first."""
    nodes: list[Node] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


# --- the database -----------------------------------------------------------------------------

_INSERT_NODE = insert(LedgerTreeNode).values(
    school_id=bindparam("school_id"),
    level=bindparam("level"),
    position=bindparam("position"),
    hash=bindparam("hash"),
)


def write_nodes(session: Session, school_id: int, made: Iterable[tuple[int, int, bytes]]) -> None:
    rows = [
        {"school_id": school_id, "level": level, "position": position, "hash": digest}
        for level, position, digest in made
    ]
    if rows:
        session.execute(_INSERT_NODE, rows)


class MissingNodes(LookupError):
    """The stored tree lacks a node a proof needs (the tree is smaller than asked for, or was
    damaged); `flask ledger verify` says which."""


def read_nodes(session: Session, school_id: int, wanted: Iterable[Node]) -> dict[Node, bytes]:
    by_level: dict[int, set[int]] = {}
    for level, position in wanted:
        by_level.setdefault(level, set()).add(position)
    if not by_level:
        return {}
    columns = LedgerTreeNode.__table__.c
    condition = or_(
        *(
            and_(columns.level == level, columns.position.in_(sorted(positions)))
            for level, positions in sorted(by_level.items())
        )
    )
    rows = session.execute(
        select(columns.level, columns.position, columns.hash).where(
            columns.school_id == school_id, condition
        )
    )
    return {(row.level, row.position): bytes(row.hash) for row in rows}


def subtree_hashes(session: Session, school_id: int, ranges: Sequence[Range]) -> list[bytes]:
    """MTH(D[a:b]) of each range, from the stored nodes, in one query."""
    pieces = [perfect_nodes(start, end) for start, end in ranges]
    found = read_nodes(session, school_id, {node for nodes in pieces for node in nodes})
    hashes: list[bytes] = []
    for (start, end), nodes in zip(ranges, pieces, strict=True):
        missing = [node for node in nodes if node not in found]
        if missing:
            level, position = missing[0]
            raise MissingNodes(
                f"the stored tree has no node for leaves {position << level} to "
                f"{((position + 1) << level) - 1} (needed for {start}..{end - 1})"
            )
        hashes.append(edge_root([found[node] for node in nodes]))
    return hashes


def root_at(session: Session, school_id: int, size: int) -> bytes:
    """The root of the tree of the first `size` leaves, from the stored nodes."""
    if size == 0:
        return EMPTY_ROOT
    return subtree_hashes(session, school_id, [(0, size)])[0]


def inclusion_proof(session: Session, school_id: int, index: int, size: int) -> list[bytes]:
    return subtree_hashes(session, school_id, inclusion_ranges(index, size))


def consistency_proof(session: Session, school_id: int, first: int, size: int) -> list[bytes]:
    return subtree_hashes(session, school_id, consistency_ranges(first, size))


def leaf_hash_at(session: Session, school_id: int, index: int) -> bytes | None:
    return read_nodes(session, school_id, [(0, index)]).get((0, index))


def rebuild(
    session: Session, school_id: int, leaves: Iterator[bytes], batch: int = 5000
) -> Growing:
    """Write a school's tree again from its leaf hashes, in order (the caller holds the chain
    lock and sets the head's edge from what this returns)."""
    session.execute(delete(LedgerTreeNode).where(LedgerTreeNode.school_id == school_id))
    tree = Growing(0, [])
    for leaf in leaves:
        tree.append(leaf)
        if len(tree.made) >= batch:
            write_nodes(session, school_id, tree.made)
            tree.made = []
    write_nodes(session, school_id, tree.made)
    tree.made = []
    return tree
