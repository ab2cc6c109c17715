"""Signed notes and checkpoints (C2SP `signed-note` and `tlog-checkpoint`), with Ed25519 from
`cryptography`: the format Go's checksum database, Sigstore's Rekor and the witnesses of
transparency logs share, so that a school's checkpoint can be checked with their tools too.

- A key's id is the first four bytes of SHA-256(name || "\\n" || 0x01 || public key), 0x01
  being Ed25519's algorithm byte; keys are written as Go's `note` package writes them:
  `PRIVATE+KEY+<name>+<id hex>+<base64(0x01 || seed)>` (kept in a file, never in the
  database) and `<name>+<id hex>+<base64(0x01 || public key)>` (the verifier key, published).
- A note is its text (ending in a newline), a blank line, then one line per signature:
  `— <name> <base64(id || signature)>`; the signature is over the text.
- A checkpoint's text is the log's origin, the tree size and the base64 root hash, a line each.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = 0x01
DASH = "\u2014"  # the em dash that starts a signature line


class NoteError(ValueError):
    """A key, note or checkpoint that is malformed, or a signature that does not verify."""


def _valid_name(name: str) -> bool:
    return bool(name) and not any(c in name for c in " +\n\t\r") and name.isprintable()


def key_id(name: str, public_key: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()
    return int(struct.unpack(">I", digest[:4])[0])


def _public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    name: str
    id: int
    key: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """A verifier key as `<name>+<id hex>+<base64 key>`."""
        name, _, rest = text.strip().partition("+")
        id_hex, _, encoded = rest.partition("+")
        try:
            raw = base64.b64decode(encoded, validate=True)
            given = int(id_hex, 16)
        except ValueError as exc:
            raise NoteError("the verifier key is malformed") from exc
        if not _valid_name(name) or len(id_hex) != 8 or len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("the verifier key is malformed")
        if key_id(name, raw[1:]) != given:
            raise NoteError("the verifier key's id does not match its key")
        return cls(name, given, Ed25519PublicKey.from_public_bytes(raw[1:]))

    def __str__(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + _public_bytes(self.key)).decode()
        return f"{self.name}+{self.id:08x}+{encoded}"


@dataclass(frozen=True)
class Signer:
    name: str
    id: int
    key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        if not _valid_name(name):
            raise NoteError(f"a key's name has no spaces, '+' or new lines: {name!r}")
        key = Ed25519PrivateKey.generate()
        return cls(name, key_id(name, _public_bytes(key.public_key())), key)

    @classmethod
    def parse(cls, text: str) -> Signer:
        """A signer key as `PRIVATE+KEY+<name>+<id hex>+<base64 seed>`."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("the signer key is malformed")
        name, id_hex, encoded = parts[2:]
        try:
            raw = base64.b64decode(encoded, validate=True)
            given = int(id_hex, 16)
        except ValueError as exc:
            raise NoteError("the signer key is malformed") from exc
        if not _valid_name(name) or len(id_hex) != 8 or len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("the signer key is malformed")
        key = Ed25519PrivateKey.from_private_bytes(raw[1:])
        if key_id(name, _public_bytes(key.public_key())) != given:
            raise NoteError("the signer key's id does not match its key")
        return cls(name, given, key)

    def __str__(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self.key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        encoded = base64.b64encode(bytes([ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.id:08x}+{encoded}"

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.id, self.key.public_key())


def sign(text: str, signer: Signer) -> str:
    """The signed note of `text` (which must end with a newline)."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends with one new line and has no blank line")
    signature = signer.key.sign(text.encode())
    blob = base64.b64encode(struct.pack(">I", signer.id) + signature).decode()
    return f"{text}\n{DASH} {signer.name} {blob}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The text of `note` once `verifier`'s signature on it checks; NoteError otherwise."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator:
        raise NoteError("the note has no signatures")
    text += "\n"
    for line in signatures.splitlines():
        prefix = f"{DASH} {verifier.name} "
        if not line.startswith(prefix):
            continue
        try:
            raw = base64.b64decode(line[len(prefix) :], validate=True)
        except ValueError:
            continue
        if len(raw) != 68 or struct.unpack(">I", raw[:4])[0] != verifier.id:
            continue
        try:
            verifier.key.verify(raw[4:], text.encode())
        except InvalidSignature as exc:
            raise NoteError(f"the signature of {verifier.name} does not verify") from exc
        return text
    raise NoteError(f"the note has no signature by {verifier.name}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("a checkpoint is an origin, a size and a root hash, a line each")
        try:
            size = int(lines[1])
            root = base64.b64decode(lines[2], validate=True)
        except ValueError as exc:
            raise NoteError("the checkpoint's size or root hash is malformed") from exc
        if size < 0 or str(size) != lines[1] or len(root) != 32:
            raise NoteError("the checkpoint's size or root hash is malformed")
        return cls(lines[0], size, root)
