#!/usr/bin/env python3
"""Check that a consent decision is in a school's signed consent ledger, without the portal.

Every answer a family gives the school is one event in the school's consent ledger. The portal
keeps the events in a Merkle tree (RFC 6962) and publishes checkpoints of it: the number of
events so far and a hash of all of them, signed with the portal's Ed25519 key (the C2SP
tlog-checkpoint and signed-note formats). A checkpoint that you saved earlier, or that the
school's data protection officer emailed you, fixes the ledger's history up to that point: no
event in it can be changed, removed or reordered afterwards without this check failing.

This script needs only Python 3.11 or newer and the `cryptography` package. Usage:

    python tools/verify_receipt.py PROOF.json --checkpoint CHECKPOINT --key KEY [--hash HASH]

  PROOF.json    the proof the portal serves at /schools/SLUG/ledger/proof/LEAF?t=TOKEN, saved
                to a file (or `-` to read it from standard input);
  CHECKPOINT    a checkpoint you saved from /schools/SLUG/ledger/checkpoint, or were sent;
  KEY           the portal's verifier key as it publishes it (NAME+KEYID+KEY), or a file
                holding it;
  HASH          optional: the full fingerprint (hash) printed on the family's receipt email.

It checks, in this order: that the key is well formed; that the saved checkpoint is signed by
that key and is a well-formed checkpoint; that the checkpoint inside the proof is signed by the
same key, is of the same log and, when it has the same size, the same hash (if not, the portal
has shown two different histories); that the proof is for that log; that the event's audit path
leads to the saved checkpoint's hash; and that the event's entry in the school's hash chain
matches the event, its number and, when given, the receipt's fingerprint.

When every check passes it prints "OK: ..." and the event's details, and exits with status 0.
Otherwise it prints one line saying what failed and exits with status 1 (status 2 when the
arguments are wrong or a file cannot be read).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "consent-ledger-proof/1"
DASH = "\u2014"  # the em dash that starts a signature line
GENESIS = "0" * 64  # the prev_hash of a ledger's first event
HEX64 = re.compile(r"[0-9a-f]{64}")
JSON_TYPES = {str: "string", int: "integer", list: "list", dict: "object"}
PROOF_FIELDS: dict[str, type] = {
    "format": str, "origin": str, "leaf_index": int, "tree_size": int, "leaf": str,
    "audit_path": list, "checkpoint": str, "verifier_key": str, "chain": dict,
}  # fmt: skip
# The event's fields the summary shows, when the event has them.
SHOWN = ("occurred_at", "decision", "purpose_id", "purpose_version", "pupil_id", "guardian_id",
         "channel", "notice_version", "language")  # fmt: skip


class Failure(Exception):
    """A check that did not pass: its message is printed and the exit status is 1."""


@dataclass(frozen=True)
class Key:
    name: str
    id: bytes
    public: Ed25519PublicKey


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes


def b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Failure(f"{what} is not valid base64") from exc


def valid_name(name: str) -> bool:
    return bool(name) and name.isprintable() and " " not in name and "+" not in name


def parse_key(text: str) -> Key:
    """A verifier key, NAME+KEYID+BASE64(0x01 || Ed25519 public key) (check 1)."""
    name, _, rest = text.strip().partition("+")
    id_hex, _, encoded = rest.partition("+")
    if not valid_name(name) or not re.fullmatch(r"[0-9a-fA-F]{8}", id_hex):
        raise Failure("the verifier key is malformed: it should be NAME+KEYID+KEY")
    raw = b64decode(encoded, "the verifier key")
    if len(raw) != 33 or raw[0] != 0x01:
        raise Failure("the verifier key is not an Ed25519 key (0x01 and 32 bytes)")
    digest = hashlib.sha256(name.encode() + b"\n" + raw).digest()
    if digest[:4] != bytes.fromhex(id_hex):
        raise Failure(f"the verifier key's id {id_hex} does not match its name and key")
    return Key(name, digest[:4], Ed25519PublicKey.from_public_bytes(raw[1:]))


def open_note(note: str, key: Key, what: str) -> str:
    """The text of a signed note once a signature by `key` verifies over it (check 2)."""
    try:
        data = note.encode()
    except UnicodeEncodeError:
        raise Failure(f"{what} is not UTF-8 text") from None
    if any((c < " " and c != "\n") or c == "\x7f" for c in note):
        hint = " (it has Windows line endings)" if "\r" in note else ""
        raise Failure(f"{what} is not a signed note: it has control characters{hint}")
    end = data.rfind(b"\n\n")
    text, signatures = data[: end + 1], data[end + 2 :].decode()
    if end < 0 or not signatures.endswith("\n"):
        raise Failure(f"{what} is not a signed note: text, a blank line, then signatures")
    signed = False
    for line in signatures[:-1].split("\n"):
        name, _, blob = line.removeprefix(DASH + " ").partition(" ")
        if not line.startswith(DASH + " ") or not valid_name(name):
            raise Failure(f"{what} is not a signed note: a line is not '{DASH} NAME SIGNATURE'")
        raw = b64decode(blob, f"a signature in {what}")
        if len(raw) < 5:
            raise Failure(f"{what} has a signature too short to be one")
        if name != key.name or raw[:4] != key.id:
            continue  # someone else's signature, such as a witness's
        try:
            key.public.verify(raw[4:], text)
        except InvalidSignature:
            raise Failure(
                f"{what}'s signature by {key.name} does not verify: "
                "its text was changed after it was signed"
            ) from None
        signed = True
    if not signed:
        raise Failure(f"{what} has no signature by the key {key.name}+{key.id.hex()}")
    return text.decode()


def parse_checkpoint(text: str, what: str) -> Checkpoint:
    """A tlog-checkpoint: origin, decimal size, base64 root hash, extension lines (check 3)."""
    lines = text.split("\n")[:-1]
    if len(lines) < 3 or not lines[0] or "" in lines[3:]:
        raise Failure(f"{what} is not a checkpoint: an origin, a size and a hash, a line each")
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", lines[1]) or int(lines[1]) >= 2**64:
        raise Failure(f"{what}'s size {lines[1]!r} is not a decimal number")
    root = b64decode(lines[2], f"{what}'s root hash")
    if len(root) != 32:
        raise Failure(f"{what}'s root hash is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root)


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_path(index: int, size: int, leaf_hash: bytes, path: list[bytes]) -> bytes:
    """The root an audit path leads to from a leaf hash (RFC 9162, section 2.1.3.2)."""
    if not 0 <= index < size:
        raise Failure(f"event {index + 1} is not in a tree of {size} events")
    fn, sn, result = index, size - 1, leaf_hash
    for node in path:
        if sn == 0:
            raise Failure(f"the audit path is too long for event {index + 1} of {size}")
        if fn % 2 == 1 or fn == sn:
            result = node_hash(node, result)
            while fn % 2 == 0 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, node)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Failure(f"the audit path is too short for event {index + 1} of {size}")
    return result


def load_json(text: str, what: str) -> Any:
    """JSON, refusing duplicate keys and NaN, so that every reader reads the same values."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in items}) != len(items):
            raise Failure(f"{what} has a key twice")
        return dict(items)

    def constant(name: str) -> Any:
        raise Failure(f"{what} has {name}, which is not JSON")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except (ValueError, RecursionError) as exc:
        raise Failure(f"{what} is not valid JSON ({exc})") from None


def display(value: Any) -> str:
    """A value of the event as text, escaped when printing it as is could mislead."""
    if value is None:
        return "none"
    return value if isinstance(value, str) and value.isprintable() else json.dumps(value)


def check_shape(proof: Any) -> dict[str, Any]:
    if not isinstance(proof, dict) or proof.get("format") != FORMAT:
        raise Failure(f"the proof is not a {FORMAT} document")
    for field, kind in PROOF_FIELDS.items():
        if type(proof.get(field)) is not kind:
            raise Failure(f"the proof's {field} is missing or not a JSON {JSON_TYPES[kind]}")
    chain = proof["chain"]
    if type(chain.get("seq")) is not int or not all(
        isinstance(chain.get(k), str) and HEX64.fullmatch(chain[k]) for k in ("prev_hash", "hash")
    ):
        raise Failure("the proof's chain is not a seq and two hashes of 64 lower-case hex digits")
    if not all(isinstance(node, str) for node in proof["audit_path"]):
        raise Failure("the proof's audit_path is not a list of base64 hashes")
    return proof


def verify(proof_text: str, saved_note: str, key_text: str, receipt_hash: str | None) -> str:
    """Every check, in order; the summary to print, or Failure."""
    key = parse_key(key_text)
    saved = parse_checkpoint(
        open_note(saved_note, key, "the saved checkpoint"), "the saved checkpoint"
    )
    proof = check_shape(load_json(proof_text, "the proof"))
    what = "the proof's checkpoint"
    shown = parse_checkpoint(open_note(proof["checkpoint"], key, what), what)
    index, size, seq = proof["leaf_index"], proof["tree_size"], proof["leaf_index"] + 1
    if shown.origin != saved.origin:
        raise Failure(f"{what} is of the log {shown.origin!r}, the saved one of {saved.origin!r}")
    if shown.size != size:
        raise Failure(f"the proof says tree_size {size} but its checkpoint is of size {shown.size}")
    if size != saved.size and index >= saved.size:
        raise Failure(
            f"the proof is for size {size} and the saved checkpoint is size {saved.size},"
            f" signed before event {seq} was recorded: save a newer checkpoint to check it"
        )
    if size != saved.size:
        raise Failure(
            f"the proof is for size {size} and the saved checkpoint is size {saved.size}:"
            f" fetch the proof for size {saved.size} by adding &size={saved.size} to"
            " the proof's address"
        )
    if shown.root != saved.root:
        raise Failure(
            f"WARNING: TWO HISTORIES: the portal signed two different checkpoints of "
            f"size {size} for {saved.origin}: keep both files as evidence and report "
            "this to the school and the ICO"
        )
    if proof["origin"] != saved.origin:
        raise Failure(
            f"the proof is for the log {proof['origin']!r}, the checkpoint {saved.origin!r}"
        )

    leaf = proof["leaf"]
    if not leaf.isascii():
        raise Failure("the event's text is not ASCII, as the ledger's encoding always is")
    path = [b64decode(node, "an audit path hash") for node in proof["audit_path"]]
    if any(len(node) != 32 for node in path):
        raise Failure("an audit path hash is not 32 bytes")
    leaf_hash = hashlib.sha256(b"\x00" + leaf.encode("ascii")).digest()
    if root_from_path(index, saved.size, leaf_hash, path) != saved.root:
        raise Failure(
            f"event {seq} as the proof gives it is not in the saved checkpoint: "
            "the event or its audit path was changed"
        )

    chain, event = proof["chain"], load_json(leaf, "the event")
    if chain["seq"] != seq:
        raise Failure(f"the chain entry is for event {chain['seq']}, the proof for event {seq}")
    if not isinstance(event, dict) or type(event.get("seq")) is not int or event["seq"] != seq:
        raise Failure(f"the event's own seq is not {seq}")
    if seq == 1 and chain["prev_hash"] != GENESIS:
        raise Failure("the first event's prev_hash is not 64 zeros")
    computed = hashlib.sha256((chain["prev_hash"] + leaf).encode("ascii")).hexdigest()
    if computed != chain["hash"]:
        raise Failure(
            f"the chain hash does not match the event: sha256(prev_hash + event) is "
            f"{computed}, the proof says {chain['hash']}"
        )
    if receipt_hash is not None and receipt_hash != chain["hash"]:
        raise Failure(
            f"the receipt's fingerprint {receipt_hash} is not this event's hash "
            f"{chain['hash']}: the proof is for another event"
        )

    lines = [
        f"OK: event {seq} of {saved.origin} is in the checkpoint of size {saved.size}, "
        f"signed by {key.name}"
    ]
    for field in SHOWN:
        if field in event and not (field == "language" and event[field] is None):
            lines.append(f"  {field + ':':<17}{display(event[field])}")
    matches = " (matches the receipt)" if receipt_hash else ""
    lines.append(f"  {'hash:':<17}{chain['hash']}{matches}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # escape what a console cannot show, not fail
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = argparse.ArgumentParser(
        prog="verify_receipt.py",
        description="Check that a consent decision is in a school's signed consent ledger.",
    )
    parser.add_argument("proof", help="the proof document (JSON), or - for standard input")
    parser.add_argument("--checkpoint", required=True, help="a checkpoint saved earlier")
    parser.add_argument("--key", required=True, help="the verifier key, or a file holding it")
    parser.add_argument("--hash", help="the full fingerprint (hash) on the receipt email")
    args = parser.parse_args(argv)

    receipt_hash = None
    if args.hash is not None:
        receipt_hash = "".join(args.hash.split()).lower()
        if not HEX64.fullmatch(receipt_hash):
            parser.error("--hash: a receipt's full fingerprint is 64 hex digits")

    def read(path: str, what: str) -> str:
        try:
            data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
            return data.decode("utf-8")
        except OSError as exc:
            parser.error(f"cannot read {what} {path}: {exc.strerror}")
        except UnicodeDecodeError:
            parser.error(f"{what} {path} is not UTF-8 text")

    proof_text = read(args.proof, "the proof")
    saved_note = read(args.checkpoint, "the checkpoint")
    key_text = read(args.key, "the key") if Path(args.key).is_file() else args.key
    try:
        summary = verify(proof_text, saved_note, key_text, receipt_hash)
    except Failure as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
