"""The Merkle tree of RFC 6962 (portal/ledger/merkle.py), against Certificate Transparency's
reference vectors and by property.

The vectors are the reference test data of Certificate Transparency's Merkle tree (the eight
leaves, the roots of every tree size from 0 to 8, audit paths and consistency proofs) that
the C++ log's merkle_tree_test.cc and the Go verifiers of transparency-dev/merkle share: an
implementation that agrees with them agrees with every other log and verifier.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.ledger import merkle

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
HASHES = [merkle.leaf_hash(leaf) for leaf in LEAVES]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index from 0, tree size, audit path)
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
# (first size, second size, consistency proof)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip


def root_of(size: int) -> bytes:
    return bytes.fromhex(ROOTS[size])


def test_the_root_of_every_size_is_the_reference_root():
    assert merkle.EMPTY_ROOT.hex() == ROOTS[0]
    for size in range(len(ROOTS)):
        assert merkle.root(HASHES[:size]).hex() == ROOTS[size], size


def test_audit_paths_are_the_reference_paths_and_lead_to_the_root():
    for index, size, path in INCLUSION:
        proof = merkle.inclusion_proof(index, HASHES[:size])
        assert [node.hex() for node in proof] == path, (index, size)
        assert merkle.verify_inclusion(index, size, HASHES[index], proof, root_of(size))
        # Another root, another leaf, another place, a path cut short or made longer: no.
        assert not merkle.verify_inclusion(index, size, HASHES[index], proof, root_of(size - 1))
        other = HASHES[(index + 1) % size]
        assert not merkle.verify_inclusion(index, size, other, proof, root_of(size))
        if size > 1:
            assert not merkle.verify_inclusion(
                (index + 1) % size, size, HASHES[index], proof, root_of(size)
            )
        assert not merkle.verify_inclusion(index, size, HASHES[index], proof[:-1], root_of(size))
        longer = [*proof, proof[0]]
        assert not merkle.verify_inclusion(index, size, HASHES[index], longer, root_of(size))


def test_consistency_proofs_are_the_reference_proofs_and_verify():
    for first, second, expected in CONSISTENCY:
        proof = merkle.consistency_proof(first, HASHES[:second])
        assert [node.hex() for node in proof] == expected, (first, second)
        assert merkle.verify_consistency(first, second, proof, root_of(first), root_of(second))
        if first != second:
            # A rewritten past (another first root) or another present: refused.
            assert not merkle.verify_consistency(
                first, second, proof, root_of(first + 1), root_of(second)
            )
            assert not merkle.verify_consistency(
                first, second, proof, root_of(first), root_of(second - 1)
            )
            assert not merkle.verify_consistency(
                first, second, proof[:-1], root_of(first), root_of(second)
            )


def test_proofs_refuse_sizes_that_make_no_sense():
    assert not merkle.verify_consistency(0, 3, [], merkle.EMPTY_ROOT, root_of(3))
    assert not merkle.verify_consistency(5, 3, [], root_of(5), root_of(3))
    assert not merkle.verify_inclusion(8, 8, HASHES[0], [], root_of(8))
    for call in (lambda: merkle.inclusion_proof(3, HASHES[:3]),
                 lambda: merkle.consistency_proof(0, HASHES[:3]),
                 lambda: merkle.consistency_proof(4, HASHES[:3])):  # fmt: skip
        try:
            call()
        except ValueError:
            continue
        raise AssertionError("a proof for a leaf or size outside the tree was made")


leaf_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=70)


@settings(max_examples=60, deadline=None)
@given(leaf_lists, st.data())
def test_every_leaf_is_proved_in_every_tree_and_a_changed_leaf_is_not(leaves, data):
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    size = len(hashes)
    top = merkle.root(hashes)
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(index, hashes)
    assert merkle.verify_inclusion(index, size, hashes[index], proof, top)
    changed = merkle.leaf_hash(leaves[index] + b"!")
    assert not merkle.verify_inclusion(index, size, changed, proof, top)


@settings(max_examples=60, deadline=None)
@given(leaf_lists, st.data())
def test_a_larger_tree_is_proved_to_extend_every_smaller_one_and_a_rewritten_one_is_not(
    leaves, data
):
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    second = len(hashes)
    first = data.draw(st.integers(1, second))
    proof = merkle.consistency_proof(first, hashes)
    first_root, second_root = merkle.root(hashes[:first]), merkle.root(hashes)
    assert merkle.verify_consistency(first, second, proof, first_root, second_root)
    # The history rewritten: one of the first leaves changed, the tree rebuilt.
    at = data.draw(st.integers(0, first - 1))
    rewritten = [*hashes[:at], merkle.leaf_hash(leaves[at] + b"!"), *hashes[at + 1 :]]
    assert not merkle.verify_consistency(
        first,
        second,
        merkle.consistency_proof(first, rewritten),
        first_root,
        merkle.root(rewritten),
    )
