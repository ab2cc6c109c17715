"""The Merkle tree of RFC 6962 (section 2.1), over a school's ledger events: the first piece
of signed checkpoints (issue: evidence that outlives the database; docs/ledger.md).

Pure functions over leaf hashes, with no database: the tree hash of a list of leaves, the
audit path that proves one leaf is in a tree (inclusion), the proof that a larger tree extends
a smaller one (consistency), and the checks of both, as RFC 9162 section 2.1.3.2 and 2.1.4.2
give them (the same algorithms Certificate Transparency's and Go's checksum database's
verifiers use). A leaf is an event's canonical bytes, the bytes the hash chain hashes.

- leaf hash: SHA-256(0x00 || leaf); node hash: SHA-256(0x01 || left || right);
- the empty tree's hash is SHA-256 of nothing;
- a tree of n leaves splits at k, the largest power of two smaller than n.

The recursive proofs here cost O(n) hashing; storing the tree's nodes so that appends and
proofs cost O(log n) comes with the ledger's table of nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the leaf hashes `leaves`."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index` in the tree of `leaves`."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n}")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def consistency_proof(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): that the tree of the first `first` leaves is a prefix of `leaves`."""
    n = len(leaves)
    if not 0 < first <= n:
        raise ValueError(f"no consistency proof from {first} to {n}")
    return _subproof(first, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that an audit path leads to from a leaf hash (RFC 9162, 2.1.3.2); raises
    ValueError when the path has the wrong length for that leaf and size."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    fn, sn = index, size - 1
    result = leaf
    for node in proof:
        if sn == 0:
            raise ValueError("the audit path is too long")
        if fn % 2 == 1 or fn == sn:
            result = node_hash(node, result)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the audit path is too short")
    return result


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected: bytes
) -> bool:
    try:
        return root_from_inclusion(index, size, leaf, proof) == expected
    except ValueError:
        return False


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> bool:
    """Whether `proof` shows the tree of size `second` with `second_root` extends the tree of
    size `first` with `first_root` (RFC 9162, 2.1.4.2)."""
    if first < 1 or second < first:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first root is the proof's start
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = node_hash(node, fr)
            sr = node_hash(node, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
