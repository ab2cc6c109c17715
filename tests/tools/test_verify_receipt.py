"""tools/verify_receipt.py, the standalone check of a receipt against a saved checkpoint, run
as a program exactly as a family's advisor would run it.

The proofs and checkpoints are made with the portal's own Merkle tree and signed notes
(portal/ledger/merkle.py and notes.py) over a few events in the ledger's canonical encoding;
the script itself must not use the portal's code, and a test runs it with the portal made
impossible to import.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from portal.ledger import merkle, notes

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "verify_receipt.py"
ORIGIN = "consent.example.org/stokes-wood"
KEY_NAME = "consent.example.org"
SIGNER = notes.Signer.generate(KEY_NAME)
KEY = str(SIGNER.verifier)


def canonical_event(seq: int, school: str = "stokes-wood") -> str:
    """A format-2 event as the ledger encodes it: sorted keys, no spaces, ASCII only."""
    fields = {
        "actor_id": None, "actor_type": "guardian", "answers_seq": None, "channel": "web",
        "decision": "refused" if seq % 3 == 0 else "granted", "format": 2,
        "guardian_id": 100 + seq, "language": "cy" if seq % 2 else None,
        "note_commitment": None, "notice_version": 3,
        "occurred_at": f"2025-09-{seq:02d}T08:30:00.{seq:06d}Z", "pupil_id": 200 + seq,
        "purpose_id": 5 if school == "stokes-wood" else 6, "purpose_version": 2,
        "school_id": 1, "seq": seq,
    }  # fmt: skip
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@dataclass
class Ledger:
    """A school's events, their hash chain and their Merkle tree, signed by `signer`."""

    leaves: list[str]
    origin: str = ORIGIN
    signer: notes.Signer = SIGNER
    chain: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        prev = "0" * 64
        for leaf in self.leaves:
            prev = hashlib.sha256((prev + leaf).encode()).hexdigest()
            self.chain.append(prev)

    @classmethod
    def of(cls, count: int, **kwargs: Any) -> Ledger:
        school = kwargs.pop("school", "stokes-wood")
        return cls([canonical_event(seq, school) for seq in range(1, count + 1)], **kwargs)

    def hashes(self, size: int) -> list[bytes]:
        return [merkle.leaf_hash(leaf.encode()) for leaf in self.leaves[:size]]

    def checkpoint(self, size: int, signer: notes.Signer | None = None) -> str:
        text = notes.Checkpoint(self.origin, size, merkle.root(self.hashes(size))).text()
        return notes.sign(text, signer or self.signer)

    def proof(self, index: int, size: int) -> dict[str, Any]:
        """The proof document the portal serves for leaf `index` in the tree of `size`."""
        path = merkle.inclusion_proof(index, self.hashes(size))
        return {
            "format": "consent-ledger-proof/1",
            "origin": self.origin,
            "leaf_index": index,
            "tree_size": size,
            "leaf": self.leaves[index],
            "audit_path": [base64.b64encode(node).decode() for node in path],
            "checkpoint": self.checkpoint(size),
            "verifier_key": str(self.signer.verifier),
            "chain": {
                "seq": index + 1,
                "prev_hash": self.chain[index - 1] if index else "0" * 64,
                "hash": self.chain[index],
            },
        }


LEDGER = Ledger.of(13)


def run(
    tmp_path: Path,
    proof: dict[str, Any] | str,
    checkpoint: str,
    *extra: str,
    key: str = KEY,
    python: tuple[str, ...] = (sys.executable,),
) -> subprocess.CompletedProcess[str]:
    proof_file, checkpoint_file = tmp_path / "proof.json", tmp_path / "checkpoint.txt"
    proof_file.write_text(proof if isinstance(proof, str) else json.dumps(proof, indent=2))
    checkpoint_file.write_bytes(checkpoint.encode())
    command = [*python, str(SCRIPT), str(proof_file), "--checkpoint", str(checkpoint_file)]
    return subprocess.run(
        [*command, "--key", key, *extra],
        cwd=ROOT, capture_output=True, encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip


def assert_fails(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("FAILED: ") and result.stderr.count("\n") == 1
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.mark.parametrize(
    ("size", "index"),
    [(1, 0), (2, 0), (2, 1), (7, 0), (7, 3), (7, 6), (8, 0), (8, 5), (8, 7),
     (13, 0), (13, 6), (13, 8), (13, 12)],
)  # fmt: skip
def test_a_true_receipt_is_accepted_and_its_event_shown(tmp_path, size, index):
    result = run(tmp_path, LEDGER.proof(index, size), LEDGER.checkpoint(size),
                 "--hash", LEDGER.chain[index])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == (f"OK: event {index + 1} of {ORIGIN} is in the checkpoint of size "
                        f"{size}, signed by {KEY_NAME}")  # fmt: skip
    event = json.loads(LEDGER.leaves[index])
    assert f"  occurred_at:     {event['occurred_at']}" in lines
    assert f"  decision:        {event['decision']}" in lines
    assert f"  pupil_id:        {event['pupil_id']}" in lines
    assert f"  guardian_id:     {event['guardian_id']}" in lines
    assert ("  language:        cy" in lines) == (event["language"] == "cy")
    assert lines[-1] == f"  hash:            {LEDGER.chain[index]} (matches the receipt)"


def test_the_key_from_a_file_the_proof_from_stdin_and_a_hash_as_typed(tmp_path):
    """The hash as copied from an email (upper case, in groups) still matches."""
    key_file, checkpoint_file = tmp_path / "school.pub", tmp_path / "checkpoint.txt"
    key_file.write_text(KEY + "\n")
    checkpoint_file.write_text(LEDGER.checkpoint(8))
    typed = " ".join(LEDGER.chain[4][i : i + 8] for i in range(0, 64, 8)).upper()
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "-", "--checkpoint", str(checkpoint_file),
         "--key", str(key_file), "--hash", typed],
        input=json.dumps(LEDGER.proof(4, 8)), cwd=ROOT, capture_output=True,
        encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"OK: event 5 of {ORIGIN} is in the checkpoint of size 8")


def test_a_checkpoint_cosigned_by_a_witness_is_accepted(tmp_path):
    """Signatures by keys the person did not give (a witness's) are ignored, in any order."""
    witness = notes.Signer.generate("witness.example.net")
    signed = LEDGER.checkpoint(7)
    text, _, ours = signed.partition("\n\n")
    theirs = notes.sign(text + "\n", witness).partition("\n\n")[2]
    result = run(tmp_path, LEDGER.proof(2, 7), f"{text}\n\n{theirs}{ours}")
    assert result.returncode == 0, result.stderr


def flip(encoded: str) -> str:
    """A base64 hash with one bit changed."""
    raw = bytearray(base64.b64decode(encoded))
    raw[7] ^= 0x10
    return base64.b64encode(bytes(raw)).decode()


def wrong_id(key: str) -> str:
    name, id_hex, encoded = key.split("+", 2)
    return f"{name}+{int(id_hex, 16) ^ 1:08x}+{encoded}"


@dataclass(frozen=True)
class Case:
    """What the script is given: event 9 of 13 by default, then one thing changed."""

    proof: dict[str, Any]
    checkpoint: str
    key: str = KEY
    extra: tuple[str, ...] = ()

    @property
    def path(self) -> list[str]:
        return list(self.proof["audit_path"])

    def with_proof(self, **fields: Any) -> Case:
        return replace(self, proof={**self.proof, **fields})

    def with_chain(self, **fields: Any) -> Case:
        return self.with_proof(chain={**self.proof["chain"], **fields})


OTHER = notes.Signer.generate(KEY_NAME)  # the same name, another key
# The same 13 events but for event 6's answer: another history of the same size.
FORKED = Ledger([*LEDGER.leaves[:5], LEDGER.leaves[5].replace("refused", "granted"),
                 *LEDGER.leaves[6:]])  # fmt: skip
assert FORKED.leaves != LEDGER.leaves
ELSEWHERE = Ledger.of(13, origin="consent.example.org/oak-primary", school="oak-primary")
ROOT_LINE = LEDGER.checkpoint(13).split("\n")[2]
SAVED_NOT_SIGNED = "the saved checkpoint's signature by consent.example.org does not verify"

# (what changes, how, what the one-line message says)
FAILURES: list[tuple[str, Callable[[Case], Case], tuple[str, ...]]] = [
    ("a changed leaf", lambda c: c.with_proof(leaf=c.proof["leaf"].replace(
        '"purpose_id":5', '"purpose_id":6')), ("event 9 as the proof gives it is not in the",)),
    ("a changed path entry", lambda c: c.with_proof(audit_path=[c.path[0], flip(c.path[1]),
        *c.path[2:]]), ("event 9 as the proof gives it is not in the saved checkpoint",)),
    ("a shortened path", lambda c: c.with_proof(audit_path=c.path[:-1]),
        ("the audit path is too short for event 9 of 13",)),
    ("a lengthened path", lambda c: c.with_proof(audit_path=[*c.path, c.path[0]]),
        ("the audit path is too long for event 9 of 13",)),
    ("a path entry not of 32 bytes", lambda c: c.with_proof(audit_path=["AAAA", *c.path[1:]]),
        ("an audit path hash is not 32 bytes",)),
    ("a checkpoint signed by another key", lambda c: replace(c,
        checkpoint=LEDGER.checkpoint(13, OTHER)),
        (f"the saved checkpoint has no signature by the key {KEY_NAME}+{SIGNER.id:08x}",)),
    ("a changed size", lambda c: replace(c, checkpoint=c.checkpoint.replace("\n13\n", "\n12\n")),
        (SAVED_NOT_SIGNED,)),
    ("a changed root", lambda c: replace(c, checkpoint=c.checkpoint.replace(ROOT_LINE,
        flip(ROOT_LINE))), (SAVED_NOT_SIGNED,)),
    ("windows line endings", lambda c: replace(c, checkpoint=c.checkpoint.replace("\n", "\r\n")),
        ("it has control characters (it has Windows line endings)",)),
    ("a key with the wrong id", lambda c: replace(c, key=wrong_id(c.key)),
        ("the verifier key's id", "does not match its name and key")),
    ("a key without its name", lambda c: replace(c, key=c.key.split("+", 1)[1]),
        ("the verifier key is malformed",)),
    ("a proof of another size", lambda c: replace(c, checkpoint=LEDGER.checkpoint(10)),
        ("the proof is for size 13 and the saved checkpoint is size 10", "&size=10")),
    ("an event after the saved checkpoint", lambda c: replace(c,
        checkpoint=LEDGER.checkpoint(8)), ("size 13", "size 8", "save a newer checkpoint")),
    ("roots differing at the same size", lambda c: replace(c, checkpoint=FORKED.checkpoint(13)),
        ("TWO HISTORIES", "two different checkpoints of size 13")),
    ("a wrong --hash", lambda c: replace(c, extra=("--hash", LEDGER.chain[7])),
        (f"the receipt's fingerprint {LEDGER.chain[7]} is not this event's hash",)),
    ("a changed chain hash", lambda c: c.with_chain(hash=LEDGER.chain[7]),
        ("the chain hash does not match the event",)),
    ("a changed prev_hash", lambda c: c.with_chain(prev_hash=LEDGER.chain[6]),
        ("the chain hash does not match the event",)),
    ("a chain entry of another event", lambda c: c.with_chain(seq=8),
        ("the chain entry is for event 8, the proof for event 9",)),
    ("another origin in the proof", lambda c: c.with_proof(origin=ELSEWHERE.origin),
        ("the proof is for the log 'consent.example.org/oak-primary'",)),
    ("another school's proof", lambda c: replace(c, proof=ELSEWHERE.proof(8, 13)),
        ("the proof's checkpoint is of the log 'consent.example.org/oak-primary'",)),
    ("a proof's checkpoint by another key", lambda c: c.with_proof(
        checkpoint=LEDGER.checkpoint(13, OTHER)), ("the proof's checkpoint has no signature",)),
    ("a tree_size unlike its checkpoint", lambda c: c.with_proof(tree_size=12),
        ("the proof says tree_size 12 but its checkpoint is of size 13",)),
    ("another format", lambda c: c.with_proof(format="consent-ledger-proof/2"),
        ("the proof is not a consent-ledger-proof/1 document",)),
    ("a missing field", lambda c: replace(c, proof={f: v for f, v in c.proof.items()
        if f != "leaf"}), ("the proof's leaf is missing or not a JSON string",)),
]  # fmt: skip


@pytest.mark.parametrize(("change", "fragments"), [(c, f) for _, c, f in FAILURES],
                         ids=[name for name, _, _ in FAILURES])  # fmt: skip
def test_a_changed_receipt_proof_checkpoint_or_key_fails(tmp_path, change, fragments):
    case = change(Case(LEDGER.proof(8, 13), LEDGER.checkpoint(13)))
    assert_fails(run(tmp_path, case.proof, case.checkpoint, *case.extra, key=case.key),
                 *fragments)  # fmt: skip


@pytest.mark.parametrize(("size", "index"), [(2, 1), (7, 6), (8, 0), (13, 12)])
def test_a_one_character_change_to_the_leaf_fails_at_every_size(tmp_path, size, index):
    proof = LEDGER.proof(index, size)
    proof["leaf"] = proof["leaf"].replace("T08:30", "T08:31")
    assert_fails(run(tmp_path, proof, LEDGER.checkpoint(size)), "is not in the saved checkpoint")


def test_a_proof_that_is_not_json_fails_and_unreadable_input_is_a_usage_error(tmp_path):
    assert_fails(run(tmp_path, "{not json", LEDGER.checkpoint(3)), "the proof is not valid JSON")
    missing = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "none.json"), "--checkpoint",
         str(tmp_path / "none.txt"), "--key", KEY],
        cwd=ROOT, capture_output=True, encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode == 2 and "cannot read the proof" in missing.stderr
    short = run(tmp_path, LEDGER.proof(0, 3), LEDGER.checkpoint(3), "--hash", "abc")
    assert short.returncode == 2 and "64 hex digits" in short.stderr


def test_the_script_imports_nothing_but_the_standard_library_and_cryptography(tmp_path):
    tree = ast.parse(SCRIPT.read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}  # fmt: skip
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    outside = {name for name in imported if name.split(".")[0] not in sys.stdlib_module_names}
    assert {name.split(".")[0] for name in outside} == {"cryptography"}
    # And it runs, isolated, with the portal's package made impossible to import.
    blocked = ("import runpy, sys; sys.modules['portal'] = None; sys.argv = sys.argv[1:]; "
               "runpy.run_path(sys.argv[0], run_name='__main__')")  # fmt: skip
    result = run(tmp_path, LEDGER.proof(6, 13), LEDGER.checkpoint(13),
                 python=(sys.executable, "-I", "-c", blocked))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"OK: event 7 of {ORIGIN}")


def load_tool() -> Any:
    spec = importlib.util.spec_from_file_location("verify_receipt", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["verify_receipt"] = module  # for its dataclasses, while it loads
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["verify_receipt"]
    return module


def test_the_scripts_tree_and_notes_agree_with_the_portals_and_gos_example():
    """Its own Merkle check and signed-note reader, in process: every leaf of every tree up to
    13 leads to the portal's root, and Go's published PeterNeumann note opens."""
    tool = load_tool()
    for size in range(1, 14):
        hashes = LEDGER.hashes(size)
        for index in range(size):
            path = merkle.inclusion_proof(index, hashes)
            assert tool.root_from_path(index, size, hashes[index], path) == merkle.root(hashes)
    go_key = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    go_text = ("If you think cryptography is the answer to your problem,\n"
               "then you don't know what your problem is.\n")  # fmt: skip
    go_note = (go_text + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNI"
               "uGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")  # fmt: skip
    assert tool.open_note(go_note, tool.parse_key(go_key), "Go's note") == go_text
    with pytest.raises(tool.Failure, match="does not verify"):
        tool.open_note(go_note.replace("answer", "ANSWER"), tool.parse_key(go_key), "it")
