"""Signed checkpoints of each school's Merkle tree, the proofs the portal serves against them,
and verification of the database against checkpoints kept outside it (docs/ledger.md,
"Signed checkpoints").

- `sign` signs each school's tree head as a C2SP tlog-checkpoint in a signed note, stores it
  (`ledger_checkpoints`: the portal serves the latest) and writes it to a directory outside
  the database. Before it signs, it proves from the stored tree that the new tree extends the
  last one signed; a ledger whose history changed since is refused, loudly, never signed.
- `proof_document` is the inclusion proof of one event against a signed checkpoint, with the
  event's canonical bytes, for `tools/verify_receipt.py` or any RFC 6962 verifier.
- `verify_against` recomputes each school's tree from its events and compares it with
  checkpoints read from files, naming the first size where they differ.

The origin of a school's log is the deployment's host and the school's slug
(`consent.example.org/stokes-wood`). No Flask request state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..database import writing
from ..errors import NotFound, PortalError
from ..extensions import db
from ..models import ConsentEvent, LedgerCheckpoint, LedgerHead, School
from ..types import utcnow
from . import merkle, notes, tree
from .encoding import event_canonical
from .verify import verify

PROOF_FORMAT = "consent-ledger-proof/1"
LATEST = "checkpoint"  # DIR/<school>/checkpoint; the earlier ones are DIR/<school>/<size>


class CheckpointError(PortalError):
    """A checkpoint that cannot be signed, read or checked, with the reason."""


class NotCovered(NotFound):
    """No signed checkpoint covers that event yet."""


def origin(slug: str) -> str:
    """The origin line of a school's log: the deployment's host (and port) and the slug."""
    host = urlsplit(current_app.config["BASE_URL"]).netloc
    return f"{host}/{slug}"


def load_signer(path: str | Path) -> notes.Signer:
    """The signer key in a file `flask ledger keygen` wrote."""
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"cannot read the checkpoint key {path}: {exc}") from exc
    try:
        return notes.Signer.parse(text)
    except notes.NoteError as exc:
        raise CheckpointError(f"{path}: {exc}") from exc


def load_verifier(text_or_path: str) -> notes.Verifier:
    """A verifier key given as itself (NAME+KEYID+BASE64) or as a file holding it."""
    text = text_or_path
    if "+" not in text_or_path or os.path.exists(text_or_path):
        try:
            text = Path(text_or_path).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"cannot read the verifier key {text_or_path}: {exc}") from exc
    try:
        return notes.Verifier.parse(text)
    except notes.NoteError as exc:
        raise CheckpointError(str(exc)) from exc


# --- signing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """One school's checkpoint run: the checkpoint (new or already signed), or the refusal."""

    slug: str
    school_id: int
    size: int
    note: str | None = None
    new: bool = False
    problem: str | None = None
    dpo_email: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def latest(school_id: int, size: int | None = None) -> LedgerCheckpoint | None:
    """The school's latest checkpoint (or its latest of that size)."""
    query = select(LedgerCheckpoint).where(LedgerCheckpoint.school_id == school_id)
    if size is not None:
        query = query.where(LedgerCheckpoint.size == size)
    return db.session.scalars(
        query.order_by(LedgerCheckpoint.size.desc(), LedgerCheckpoint.id.desc()).limit(1)
    ).first()


def covering(school_id: int, leaf: int) -> LedgerCheckpoint | None:
    """The latest checkpoint whose tree holds leaf `leaf`."""
    found = latest(school_id)
    return found if found is not None and found.size > leaf else None


def sign(
    signer: notes.Signer,
    *,
    school: School | None = None,
    out_dir: Path | None = None,
    now: datetime | None = None,
) -> list[Signed]:
    """Sign each school's tree head (one school, or every one), store it and write it to
    `out_dir`. A school whose tree has not grown since its last checkpoint by this key keeps
    that one (written again to `out_dir`, not signed again)."""
    now = now or utcnow()
    verifier = str(signer.verifier)
    targets = [school] if school is not None else list(db.session.scalars(select(School)))
    db.session.rollback()
    done: list[Signed] = []
    for target in sorted(targets, key=lambda s: s.slug):
        try:
            result = _sign_school(signer, verifier, target.id, target.slug, now)
        except IntegrityError:
            # Another worker signed the same size with the same key a moment ago: that one
            # stands (a signature over the same tree says the same thing).
            found = latest(target.id)
            result = Signed(
                target.slug,
                target.id,
                found.size if found is not None else 0,
                note=found.note if found is not None else None,
            )
            db.session.rollback()
        result = replace(result, dpo_email=target.dpo_email)
        if result.ok and out_dir is not None and result.note is not None:
            write_files(out_dir, target.slug, result.size, result.note)
        done.append(result)
    return done


def _sign_school(
    signer: notes.Signer, verifier: str, school_id: int, slug: str, now: datetime
) -> Signed:
    with writing() as session:
        head = session.execute(
            select(LedgerHead.seq, LedgerHead.tree).where(LedgerHead.school_id == school_id)
        ).one_or_none()
        if head is None:
            return Signed(slug, school_id, 0, problem="the school has no ledger head")
        size = int(head.seq)
        try:
            root = tree.Growing.from_stored(size, bytes(head.tree or b"")).root
            if size and tree.root_at(session, school_id, size) != root:
                raise ValueError("the stored tree's nodes and its edge give different roots")
        except (ValueError, tree.MissingNodes) as exc:
            return Signed(slug, school_id, size, problem=f"{exc}; run `flask ledger verify`")
        before = latest(school_id)
        if before is not None:
            problem = _extends(session, school_id, before.size, bytes(before.root), size, root)
            if problem is not None:
                return Signed(slug, school_id, size, problem=problem)
            if before.size == size and before.verifier_key == verifier:
                return Signed(slug, school_id, size, note=before.note)
        text = notes.Checkpoint(origin(slug), size, root).text()
        note = notes.sign(text, signer)
        session.add(
            LedgerCheckpoint(
                school_id=school_id,
                size=size,
                root=root,
                note=note,
                verifier_key=verifier,
                signed_at=now,
            )
        )
    return Signed(slug, school_id, size, note=note, new=True)


def _extends(
    session: Any, school_id: int, first: int, first_root: bytes, size: int, root: bytes
) -> str | None:
    """Why the tree of `size` leaves (root `root`) does not extend the one signed at `first`,
    proved from the stored nodes; None when it does."""
    if first > size:
        return (
            f"the ledger holds {size} events, but a checkpoint of {first} was signed: events "
            "were removed. Not signed; compare with the saved checkpoints "
            "(`flask ledger verify --checkpoint`)"
        )
    if first == 0:
        return None if first_root == merkle.EMPTY_ROOT else "the empty checkpoint has a root"
    try:
        proof = tree.consistency_proof(session, school_id, first, size)
    except tree.MissingNodes as exc:
        return f"{exc}; run `flask ledger verify`"
    if not merkle.verify_consistency(first, size, proof, first_root, root):
        return (
            f"the ledger's first {first} events no longer give the root signed at size "
            f"{first}: its history was changed. Not signed; compare with the saved "
            "checkpoints (`flask ledger verify --checkpoint`)"
        )
    return None


def write_files(out_dir: Path, slug: str, size: int, note: str) -> None:
    """DIR/<slug>/checkpoint (replaced) and DIR/<slug>/<size> (kept once written)."""
    folder = out_dir / slug
    folder.mkdir(parents=True, exist_ok=True)
    numbered = folder / str(size)
    if not numbered.exists():
        _write_atomically(numbered, note)
    _write_atomically(folder / LATEST, note)


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


# --- proofs -----------------------------------------------------------------------------------


def proof_token(school_id: int, leaf: int) -> str:
    """The token in an event's proof link. The proof shows the event's canonical bytes (ids,
    the decision, its time), so its address is known only to those the portal gives it to:
    the family's receipt and history page, and the school's staff."""
    key = hashlib.sha256(
        b"consent-portal ledger proof\x00" + current_app.config["SECRET_KEY"].encode("utf-8")
    ).digest()
    digest = hmac.new(key, f"{school_id}:{leaf}".encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")


def proof_path(school_id: int, slug: str, seq: int) -> str:
    """The address (path) of the proof of the event `seq` (its leaf is seq - 1)."""
    leaf = seq - 1
    return f"/schools/{slug}/ledger/proof/{leaf}?t={proof_token(school_id, leaf)}"


@dataclass(frozen=True)
class Witness:
    """What a family holds of one event: its reference to read out, its full hash, its
    place in the school's Merkle tree (leaf = seq - 1) and the address of its proof."""

    reference: str
    hash: str
    leaf: int
    proof_path: str


class Witnessed:
    """What a line of a receipt or an entry of the history page shows of its events: its own
    event (`own`) and the others of the same decision (`also`: one per marketing purpose)."""

    own: Witness
    also: tuple[Witness, ...]

    @property
    def reference(self) -> str:
        return self.own.reference

    @property
    def hash(self) -> str:
        return self.own.hash

    @property
    def witnesses(self) -> tuple[Witness, ...]:
        """Every event this stands for: its own first."""
        return (self.own, *self.also)


def witness(school_id: int, slug: str, seq: int, hash_hex: str) -> Witness:
    from .. import references

    return Witness(
        references.reference(slug, seq, hash_hex),
        hash_hex,
        seq - 1,
        proof_path(school_id, slug, seq),
    )


def token_matches(school_id: int, leaf: int, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(proof_token(school_id, leaf), token or "")


def b64(values: Iterable[bytes]) -> list[str]:
    return [base64.b64encode(value).decode("ascii") for value in values]


def proof_document(school: School, leaf: int, size: int | None = None) -> dict[str, Any]:
    """The inclusion proof of the event at `leaf` (its seq minus one) in the school's latest
    signed checkpoint, or in the one of `size`. NotCovered when no checkpoint holds it yet."""
    if leaf < 0:
        raise NotFound("no such event")
    checkpoint = latest(school.id, size) if size is not None else covering(school.id, leaf)
    if checkpoint is None or checkpoint.size <= leaf:
        raise NotCovered("no signed checkpoint holds that event yet")
    event = db.session.scalars(
        select(ConsentEvent).where(
            ConsentEvent.school_id == school.id, ConsentEvent.seq == leaf + 1
        )
    ).one_or_none()
    if event is None:
        raise NotFound("no such event")
    path = tree.inclusion_proof(db.session(), school.id, leaf, checkpoint.size)
    return {
        "format": PROOF_FORMAT,
        "origin": origin(school.slug),
        "leaf_index": leaf,
        "tree_size": checkpoint.size,
        "leaf": event_canonical(event),
        "audit_path": b64(path),
        "checkpoint": checkpoint.note,
        "verifier_key": checkpoint.verifier_key,
        "chain": {"seq": event.seq, "prev_hash": event.prev_hash, "hash": event.hash},
    }


def consistency(school: School, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) of the school's tree, from the stored nodes."""
    size = db.session.scalar(select(LedgerHead.seq).where(LedgerHead.school_id == school.id))
    size = int(size or 0)
    if not 1 <= first <= second <= size:
        raise CheckpointError(
            f"a consistency proof needs 1 <= from <= to <= {size} (the ledger's size)"
        )
    return tree.consistency_proof(db.session(), school.id, first, second)


# --- checking the database against checkpoints kept outside it -------------------------------


@dataclass(frozen=True)
class Outside:
    """A checkpoint read from a file, its signature checked."""

    source: str
    checkpoint: notes.Checkpoint


@dataclass
class SchoolAgainst:
    slug: str
    events: int = 0
    checked: list[int] = field(default_factory=list)  # the sizes that held
    size: int | None = None  # the first size where the database and a checkpoint differ
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def read_outside(paths: Sequence[Path], verifier: notes.Verifier) -> list[Outside]:
    """The checkpoints in these files and folders (a folder: every `checkpoint` and numbered
    file under it), each opened with the verifier key. CheckpointError names a file that
    does not verify: a checkpoint that was not signed by the key proves nothing."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and (p.name == LATEST or p.name.isdigit())
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            raise CheckpointError(f"{path}: no such file or folder")
    found: dict[tuple[str, int], Outside] = {}
    for file in files:
        try:
            text = notes.open_note(file.read_text(encoding="utf-8"), verifier)
            checkpoint = notes.Checkpoint.parse(text)
        except (OSError, UnicodeDecodeError, notes.NoteError) as exc:
            raise CheckpointError(f"{file}: {exc}") from exc
        key = (checkpoint.origin, checkpoint.size)
        if key in found and found[key].checkpoint.root != checkpoint.root:
            raise CheckpointError(
                f"{file} and {found[key].source} are both signed for {checkpoint.origin} at "
                f"size {checkpoint.size} with different roots: two histories were shown"
            )
        found.setdefault(key, Outside(str(file), checkpoint))
    return sorted(found.values(), key=lambda o: (o.checkpoint.origin, o.checkpoint.size))


def verify_against(outside: Sequence[Outside]) -> list[SchoolAgainst]:
    """Recompute each named school's tree from its events and check it against each of its
    checkpoints, smallest first: the tree at that size has the signed root, and the stored
    tree proves today's tree extends it. Stops at a school's first size that differs."""
    by_slug: dict[str, list[notes.Checkpoint]] = {}
    results: list[SchoolAgainst] = []
    schools = {s.slug: s for s in db.session.scalars(select(School))}
    for item in outside:
        slug = item.checkpoint.origin.rpartition("/")[2]
        if slug not in schools:
            raise CheckpointError(
                f"{item.source}: no school here has the log {item.checkpoint.origin}"
            )
        if item.checkpoint.origin != origin(slug):
            raise CheckpointError(
                f"{item.source}: the checkpoint is for {item.checkpoint.origin}; this "
                f"deployment's log of {slug} is {origin(slug)} (is BASE_URL right?)"
            )
        by_slug.setdefault(slug, []).append(item.checkpoint)
    for slug, checkpoints in sorted(by_slug.items()):
        school = schools[slug]
        sizes = {c.size for c in checkpoints}
        chain = verify(school, sizes={school.id: sizes}).schools[0]
        result = SchoolAgainst(slug, events=chain.events)
        results.append(result)
        if not chain.ok or chain.root is None:
            where = f"seq {chain.seq}" if chain.seq is not None else "its chain"
            result.problem = f"the ledger itself is broken at {where}: {chain.problem}"
            result.size = (chain.seq - 1) if chain.seq is not None else None
            continue
        for checkpoint in sorted(checkpoints, key=lambda c: c.size):
            problem = _differs(school.id, checkpoint, chain.events, chain.roots, chain.root)
            if problem is not None:
                result.size, result.problem = checkpoint.size, problem
                break
            result.checked.append(checkpoint.size)
    return results


def _differs(
    school_id: int, checkpoint: notes.Checkpoint, events: int, roots: dict[int, bytes], root: bytes
) -> str | None:
    size = checkpoint.size
    if size > events:
        return (
            f"the checkpoint signed {size} events, the ledger now holds {events}: "
            "events were removed"
        )
    at_size = merkle.EMPTY_ROOT if size == 0 else roots.get(size)
    if at_size != checkpoint.root:
        return (
            f"the ledger's first {size} events give another root than the checkpoint signed "
            f"({_short(at_size)} not {_short(checkpoint.root)}): its history was changed"
        )
    if size == 0:
        return None
    try:
        proof = tree.consistency_proof(db.session(), school_id, size, events)
    except tree.MissingNodes as exc:
        return f"the stored tree cannot prove it extends the checkpoint: {exc}"
    finally:
        db.session.rollback()
    if not merkle.verify_consistency(size, events, proof, checkpoint.root, root):
        return (
            "the stored tree's consistency proof does not lead from the checkpoint to the "
            "events' tree (`flask ledger rebuild` writes the tree again)"
        )
    return None


def _short(value: bytes | None) -> str:
    return "none" if value is None else base64.b64encode(value).decode("ascii")[:12] + "…"
