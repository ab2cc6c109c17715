"""Each school's Merkle tree beside its chain, signed checkpoints kept outside the database,
and verification against them (docs/ledger.md, "Signed checkpoints"; docs/security.md,
promise 17).

The tamper case the hash chain alone cannot catch: someone who can write to the database
deletes the last events, moves the chain head back and runs `flask ledger rebuild`; the
chain verifies, but a checkpoint signed before the change does not.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update

from portal import ledger
from portal.extensions import db
from portal.ledger import checkpoints, merkle, notes, tree
from portal.models import ConsentEvent, LedgerCheckpoint, LedgerHead, LedgerTreeNode
from tests.support.world import decide, head_row

EVENTS = ConsentEvent.__table__
HEADS = LedgerHead.__table__


def toggle(world, times: int) -> None:
    """`times` more events at Oak: Ada changes her mind about website photos of A."""
    oak = world.oak
    for i in range(times):
        decision = "grant" if i % 2 == 0 else "withdraw"
        decide(world.ada, oak.purposes["photos-website"], decision, pupil=oak.pupils["A"])


@pytest.fixture
def oak_events(world):
    """Oak with 13 events, Elm with 2."""
    toggle(world, 13)
    elm = world.elm
    decide(world.fay, elm.purposes["photos-website"], "grant", pupil=elm.pupils["X"])
    decide(world.ada, elm.purposes["photos-website"], "grant", pupil=elm.pupils["X"])
    return world


def leaves_of(school_id: int) -> list[bytes]:
    events = db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.school_id == school_id).order_by(ConsentEvent.seq)
    )
    return [merkle.leaf_hash(ledger.event_canonical(e).encode()) for e in events]


def test_the_stored_tree_is_rfc_6962s_tree_of_the_events(oak_events):
    oak = oak_events.oak.id
    leaves = leaves_of(oak)
    assert len(leaves) == 13
    session = db.session()
    # Each append stored its leaf and the nodes it completed: 13 leaves, 6 + 3 + 1 above.
    assert session.scalar(select(func.count()).where(LedgerTreeNode.school_id == oak)) == 23
    head = session.execute(select(LedgerHead.tree).where(LedgerHead.school_id == oak)).scalar()
    assert tree.edge_root(tree.edge_from_bytes(head)) == merkle.root(leaves)
    for size in range(1, 14):
        root = merkle.root(leaves[:size])
        assert tree.root_at(session, oak, size) == root
        for index in range(size):
            path = tree.inclusion_proof(session, oak, index, size)
            assert path == merkle.inclusion_proof(index, leaves[:size])
            assert merkle.verify_inclusion(index, size, leaves[index], path, root)
        for first in range(1, size + 1):
            proof = tree.consistency_proof(session, oak, first, size)
            assert merkle.verify_consistency(first, size, proof, merkle.root(leaves[:first]), root)


def test_verify_names_a_stored_tree_that_does_not_fit_the_events(oak_events, runner):
    oak = oak_events.oak.id
    stored = db.session.execute(select(LedgerHead.tree).where(LedgerHead.school_id == oak)).scalar()
    changed = bytes([stored[0] ^ 1]) + stored[1:]
    db.session.execute(update(HEADS).where(HEADS.c.school_id == oak).values(tree=changed))
    db.session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert "oak-primary: BROKEN at the chain: the Merkle tree's stored edge" in result.stderr
    assert "elm-academy: ok, 2 events" in result.stdout
    # `flask ledger rebuild` writes it again from the events.
    assert runner.invoke(args=["ledger", "rebuild"]).exit_code == 0
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


def test_an_append_refuses_a_tree_that_does_not_fit_its_chain(oak_events):
    oak = oak_events.oak
    db.session.execute(update(HEADS).where(HEADS.c.school_id == oak.id).values(tree=b"\x00" * 32))
    db.session.commit()
    before = head_row(oak.id)
    with pytest.raises(ledger.LedgerError, match="Merkle tree does not fit its chain"):
        toggle(oak_events, 1)
    db.session.rollback()
    assert head_row(oak.id) == before


# --- keys, checkpoints and verification against them --------------------------------------


def keygen(runner, tmp_path: Path) -> tuple[Path, str]:
    key = tmp_path / "checkpoint.key"
    made = runner.invoke(args=["ledger", "keygen", "--name", "localhost", "--out", str(key)])
    assert made.exit_code == 0, made.output
    return key, made.stdout.strip()


def checkpoint(runner, key: Path, out: Path, *args: str) -> Any:
    return runner.invoke(args=["ledger", "checkpoint", "--key", str(key), "--out", str(out), *args])


def verify_against(runner, verifier: str, *paths: Path) -> Any:
    sources = [arg for path in paths for arg in ("--checkpoint", str(path))]
    return runner.invoke(args=["ledger", "verify", *sources, "--verifier-key", verifier])


@pytest.fixture
def signed(oak_events, runner, tmp_path):
    """Oak checkpointed at 6 and at 13 events (Elm at 2), the files in `out`."""
    key, verifier = keygen(runner, tmp_path)
    out = tmp_path / "checkpoints"
    oak = oak_events.oak.id
    # Oak's first six events: signed at 6 by building the first checkpoint from them.
    leaves = leaves_of(oak)
    first = notes.Checkpoint(checkpoints.origin("oak-primary"), 6, merkle.root(leaves[:6]))
    signer = checkpoints.load_signer(key)
    (out / "oak-primary").mkdir(parents=True)
    (out / "oak-primary" / "6").write_text(notes.sign(first.text(), signer))
    result = checkpoint(runner, key, out)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        "elm-academy: signed at size 2",
        "oak-primary: signed at size 13",
    ]
    return {"key": key, "verifier": verifier, "out": out, "world": oak_events}


def test_keygen_writes_a_private_file_and_prints_the_verifier_key(runner, tmp_path):
    key, verifier = keygen(runner, tmp_path)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    signer = notes.Signer.parse(key.read_text())
    assert str(signer.verifier) == verifier
    assert verifier.startswith("localhost+")
    again = runner.invoke(args=["ledger", "keygen", "--name", "localhost", "--out", str(key)])
    assert again.exit_code == 1 and "never overwritten" in again.output
    # The private key is nowhere in the database.
    assert db.session.scalar(select(func.count()).select_from(LedgerCheckpoint)) == 0


def test_checkpoint_writes_signed_notes_and_keeps_the_earlier_ones(signed, runner):
    out, verifier = signed["out"], notes.Verifier.parse(signed["verifier"])
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        "elm-academy/2",
        "elm-academy/checkpoint",
        "oak-primary/13",
        "oak-primary/6",
        "oak-primary/checkpoint",
    ]
    note = (out / "oak-primary" / "checkpoint").read_text()
    assert note == (out / "oak-primary" / "13").read_text()
    body = notes.Checkpoint.parse(notes.open_note(note, verifier))
    assert body.origin == "localhost/oak-primary"
    assert (body.size, body.root) == (13, merkle.root(leaves_of(signed["world"].oak.id)))
    stored = checkpoints.latest(signed["world"].oak.id)
    assert stored is not None and stored.note == note and stored.verifier_key == str(verifier)

    # Nothing new: nothing signed again, the files stay.
    again = checkpoint(runner, signed["key"], out)
    assert again.exit_code == 0
    assert "oak-primary: unchanged at size 13" in again.stdout
    assert db.session.scalar(select(func.count()).select_from(LedgerCheckpoint)) == 2

    # One more event: a new checkpoint, the one before kept under its size.
    toggle(signed["world"], 1)
    grown = checkpoint(runner, signed["key"], out, "--school", "oak-primary")
    assert grown.stdout.startswith("oak-primary: signed at size 14\n")
    assert (out / "oak-primary" / "13").read_text() == note
    assert "\n14\n" in (out / "oak-primary" / "checkpoint").read_text()


def test_an_untouched_ledger_extends_every_checkpoint(signed, runner):
    result = verify_against(runner, signed["verifier"], signed["out"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "elm-academy: ok, 2 events extend the checkpoints of size 2",
        "oak-primary: ok, 13 events extend the checkpoints of size 6, 13",
        "Every checkpoint holds: 3 checkpoint(s) of 2 school(s).",
    ]
    # One file, and the verifier key from a file, work too.
    key_file = signed["out"].parent / "verifier.pub"
    key_file.write_text(signed["verifier"] + "\n")
    one = verify_against(runner, str(key_file), signed["out"] / "oak-primary" / "6")
    assert one.exit_code == 0, one.output
    assert "oak-primary: ok, 13 events extend the checkpoints of size 6" in one.stdout


def unprotect(is_postgres: bool) -> None:
    if is_postgres:
        db.session.execute(text("ALTER TABLE consent_events DISABLE TRIGGER USER"))
    else:
        db.session.execute(text("DROP TRIGGER consent_events_no_update"))
        db.session.execute(text("DROP TRIGGER consent_events_no_delete"))
    db.session.commit()


def cut_back(world, keep: int) -> None:
    """The attack: delete Oak's events after `keep`, move the head back to the last one kept."""
    oak = world.oak.id
    db.session.execute(delete(EVENTS).where(EVENTS.c.school_id == oak, EVENTS.c.seq > keep))
    last = db.session.scalar(
        select(EVENTS.c.hash).where(EVENTS.c.school_id == oak, EVENTS.c.seq == keep)
    )
    db.session.execute(update(HEADS).where(HEADS.c.school_id == oak).values(seq=keep, hash=last))
    # And what pointed at the deleted events, so that new ones can be written in their place.
    db.session.execute(
        text("DELETE FROM takedown_tasks WHERE school_id = :s AND event_seq > :k"),
        {"s": oak, "k": keep},
    )
    db.session.commit()


def test_rewriting_history_fails_against_the_earlier_checkpoint(signed, runner, is_postgres):
    world, out, verifier = signed["world"], signed["out"], signed["verifier"]
    unprotect(is_postgres)
    cut_back(world, 4)
    rebuilt = runner.invoke(args=["ledger", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    # The chain alone cannot tell: it verifies.
    plain = runner.invoke(args=["ledger", "verify"])
    assert plain.exit_code == 0, plain.output
    assert "oak-primary: ok, 4 events" in plain.stdout

    # Against the checkpoints kept outside, the first size that differs is named.
    shorter = verify_against(runner, verifier, out)
    assert shorter.exit_code == 1
    assert (
        "oak-primary: DIFFERS at size 6: the checkpoint signed 6 events, the ledger now holds 4: "
        "events were removed" in shorter.stderr
    )
    assert "elm-academy: ok, 2 events extend the checkpoints of size 2" in shorter.stdout

    # New events written over the gap: the first six events are no longer those signed.
    toggle(world, 11)
    assert head_row(world.oak.id)[0] == 15
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
    rewritten = verify_against(runner, verifier, out)
    assert rewritten.exit_code == 1
    assert (
        "oak-primary: DIFFERS at size 6: the ledger's first 6 events give another root than the "
        "checkpoint signed" in rewritten.stderr
    )
    assert "its history was changed" in rewritten.stderr

    # And the portal refuses to sign a checkpoint over the changed history.
    files = sorted(out.rglob("*"))
    refused = checkpoint(runner, signed["key"], out)
    assert refused.exit_code == 1
    assert "oak-primary: NOT SIGNED: the ledger's first 13 events no longer give the root" in (
        refused.stderr
    )
    assert "elm-academy: unchanged at size 2" in refused.stdout
    assert sorted(out.rglob("*")) == files
    assert (out / "oak-primary" / "checkpoint").read_text() == (
        out / "oak-primary" / "13"
    ).read_text()


def test_removing_only_later_events_names_the_later_checkpoint(signed, runner, is_postgres):
    unprotect(is_postgres)
    cut_back(signed["world"], 9)
    assert runner.invoke(args=["ledger", "rebuild"]).exit_code == 0
    result = verify_against(runner, signed["verifier"], signed["out"])
    assert result.exit_code == 1
    assert "oak-primary: DIFFERS at size 13: the checkpoint signed 13 events" in result.stderr


def test_checkpoints_by_another_key_or_changed_are_refused(signed, runner, tmp_path):
    other = notes.Signer.generate("localhost")
    changed = tmp_path / "changed"
    note = (signed["out"] / "oak-primary" / "13").read_text()
    changed.write_text(note.replace("\n13\n", "\n12\n", 1))
    result = verify_against(runner, signed["verifier"], changed)
    assert result.exit_code == 1
    assert "does not verify" in result.output
    wrong_key = verify_against(runner, str(other.verifier), signed["out"] / "oak-primary" / "13")
    assert wrong_key.exit_code == 1
    assert "has no signature by localhost" in wrong_key.output
    alone = runner.invoke(args=["ledger", "verify", "--checkpoint", str(changed)])
    assert alone.exit_code == 2 and "go together" in alone.output


def test_a_checkpoint_of_another_deployment_is_named(signed, runner, tmp_path):
    signer = checkpoints.load_signer(signed["key"])
    elsewhere = notes.Checkpoint("consent.example.org/oak-primary", 2, merkle.EMPTY_ROOT)
    path = tmp_path / "elsewhere"
    path.write_text(notes.sign(elsewhere.text(), signer))
    result = verify_against(runner, signed["verifier"], path)
    assert result.exit_code == 1
    assert "this deployment's log of oak-primary is localhost/oak-primary" in result.output


def test_the_migration_puts_existing_events_in_the_tree(oak_events, app):
    """Downgrading to the schema before the tree and upgrading again builds the tree of the
    events already written, as the upgrade of a running portal does."""
    from flask_migrate import downgrade, upgrade

    oak = oak_events.oak.id
    before = tree.root_at(db.session(), oak, 13)
    db.session.remove()
    downgrade(revision="0015")
    upgrade()
    assert tree.root_at(db.session(), oak, 13) == before == merkle.root(leaves_of(oak))
    assert ledger.verify().ok
