"""What the world can check of a school's ledger (docs/ledger.md, "Signed checkpoints"): the
public checkpoint, verifier key and consistency proofs; the inclusion proof a family's
receipt and history page link to, which `tools/verify_receipt.py` checks without the portal;
and the daily job that signs every school's checkpoint and emails it to the school's DPO.

Real parts throughout: an SMTP server (aiosmtpd) receives the receipts and the DPO's emails,
the proof is followed from the email's link, and the standalone script runs as its own process.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from portal import daily, ledger, receipts
from portal.config import ConfigurationError, load
from portal.extensions import db
from portal.ledger import checkpoints, merkle, notes, tree
from portal.mail.delivery import send_pending
from portal.models import ConsentEvent, LedgerCheckpoint, LedgerHead, School
from portal.types import utcnow
from tests.support.mail import MailServer, Received
from tests.support.web import sign_in_as, text_of
from tests.support.world import build_world, decide

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "verify_receipt.py"


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def signer() -> notes.Signer:
    return notes.Signer.generate("localhost")


@pytest.fixture
def setup(
    make_app: Callable[..., Flask], mail_server: MailServer, tmp_path: Path, signer: notes.Signer
) -> Iterator[dict[str, Any]]:
    """The app, mailing `mail_server`, with a checkpoint key and folder (so the daily job
    signs), Oak and Elm, and Oak's DPO."""
    key = tmp_path / "checkpoint.key"
    key.write_text(f"{signer}\n")
    out = tmp_path / "checkpoints"
    app = make_app(
        **mail_server.app_config,
        PORTAL_CHECKPOINT_KEY=str(key),
        PORTAL_CHECKPOINT_DIR=str(out),
        RECEIPT_DELAY_SECONDS=0,
    )
    with app.app_context():
        world = build_world()
        db.session.execute(
            update(School).where(School.id == world.oak.id).values(dpo_email="dpo@oak.example")
        )
        db.session.commit()
        yield {"app": app, "world": world, "key": key, "out": out, "signer": signer}
        db.session.remove()


def answer(world: Any, times: int, *, receipt: bool = False) -> list[ConsentEvent]:
    """Ada's answers on website photos of A, alternating yes and no; with `receipt`, each
    sends her a receipt, as her answers on the pages do."""
    oak = world.oak
    extra = {"before_commit": receipts.hook(world.ada.id)} if receipt else {}
    return [
        decide(
            world.ada,
            oak.purposes["photos-website"],
            "grant" if i % 2 == 0 else "withdraw",
            pupil=oak.pupils["A"],
            **extra,
        )
        for i in range(times)
    ]


def sign(setup: dict[str, Any]) -> list[checkpoints.Signed]:
    return checkpoints.sign(setup["signer"], out_dir=setup["out"])


def run_tool(tmp_path: Path, proof: str, checkpoint: str, key: str, *extra: str) -> Any:
    (tmp_path / "proof.json").write_text(proof)
    (tmp_path / "saved-checkpoint").write_text(checkpoint)
    return subprocess.run(
        [sys.executable, str(TOOL), str(tmp_path / "proof.json"),
         "--checkpoint", str(tmp_path / "saved-checkpoint"), "--key", key, *extra],
        capture_output=True, text=True, cwd=tmp_path, check=False,
    )  # fmt: skip


# --- the public checkpoint, key and consistency proofs --------------------------------------


def test_the_latest_checkpoint_and_its_key_are_public(setup):
    client = setup["app"].test_client()
    before = client.get("/schools/oak-primary/ledger/checkpoint")
    assert before.status_code == 404
    assert "No checkpoint" in before.text
    answer(setup["world"], 3)
    sign(setup)
    note = client.get("/schools/oak-primary/ledger/checkpoint")
    assert note.status_code == 200
    assert note.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert note.text == (setup["out"] / "oak-primary" / "checkpoint").read_text()
    key = client.get("/schools/oak-primary/ledger/verifier-key")
    assert key.text == f"{setup['signer'].verifier}\n"
    body = notes.Checkpoint.parse(notes.open_note(note.text, notes.Verifier.parse(key.text)))
    assert (body.origin, body.size) == ("localhost/oak-primary", 3)
    assert client.get("/schools/nowhere/ledger/checkpoint").status_code == 404


def test_consistency_proofs_between_any_two_sizes(setup):
    client = setup["app"].test_client()
    oak = setup["world"].oak.id
    answer(setup["world"], 9)
    events = db.session.scalars(
        select(ConsentEvent).where(ConsentEvent.school_id == oak).order_by(ConsentEvent.seq)
    )
    leaves = [merkle.leaf_hash(ledger.event_canonical(e).encode()) for e in events]
    for first, second in [(1, 9), (3, 7), (4, 8), (9, 9), (5, 9)]:
        response = client.get(f"/schools/oak-primary/ledger/consistency?from={first}&to={second}")
        assert response.status_code == 200
        proof = [base64.b64decode(line) for line in response.text.splitlines()]
        assert merkle.verify_consistency(
            first, second, proof, merkle.root(leaves[:first]), merkle.root(leaves[:second])
        )
    for query in ["from=0&to=3", "from=4&to=3", "from=1&to=10", "from=a&to=3", "to=3", ""]:
        refused = client.get(f"/schools/oak-primary/ledger/consistency?{query}")
        assert refused.status_code == 400, query
        assert refused.text.strip()


# --- a family's proof -------------------------------------------------------------------------


def test_a_proof_needs_the_token_of_its_link(setup):
    world = setup["world"]
    client = setup["app"].test_client()
    [event] = answer(world, 1)
    sign(setup)
    leaf = event.seq - 1
    good = checkpoints.proof_token(world.oak.id, leaf)
    assert client.get(f"/schools/oak-primary/ledger/proof/{leaf}?t={good}").status_code == 200
    for path in [
        f"/schools/oak-primary/ledger/proof/{leaf}",
        f"/schools/oak-primary/ledger/proof/{leaf}?t=guess",
        f"/schools/oak-primary/ledger/proof/{leaf}?t={good[:-1]}",
        # The token of Oak's leaf is not Elm's.
        f"/schools/elm-academy/ledger/proof/{leaf}?t={good}",
        f"/schools/oak-primary/ledger/proof/{leaf + 1}?t={good}",
    ]:
        refused = client.get(path)
        assert refused.status_code == 404, path
        assert "ada" not in refused.text.lower()


def test_a_proof_waits_for_the_checkpoint_that_holds_its_event(setup):
    world = setup["world"]
    client = setup["app"].test_client()
    answer(world, 2)
    sign(setup)
    [later] = answer(world, 1)
    path = checkpoints.proof_path(world.oak.id, "oak-primary", later.seq)
    waiting = client.get(path)
    assert waiting.status_code == 404
    assert "not in a signed checkpoint yet" in waiting.text
    sign(setup)
    assert client.get(path).status_code == 200


def test_the_standalone_script_accepts_a_true_receipt_and_rejects_a_changed_one(setup, tmp_path):
    world = setup["world"]
    client = setup["app"].test_client()
    events = answer(world, 5)
    sign(setup)
    answer(world, 2)
    sign(setup)
    saved = client.get("/schools/oak-primary/ledger/checkpoint").text  # size 7
    key = client.get("/schools/oak-primary/ledger/verifier-key").text.strip()
    event = events[2]
    proof = client.get(checkpoints.proof_path(world.oak.id, "oak-primary", event.seq))
    document = proof.json
    assert (document["leaf_index"], document["tree_size"]) == (event.seq - 1, 7)
    assert document["chain"] == {"seq": event.seq, "prev_hash": event.prev_hash, "hash": event.hash}
    assert json.loads(document["leaf"])["decision"] == "grant"
    assert "private" in proof.headers["Cache-Control"]

    accepted = run_tool(tmp_path, proof.text, saved, key, "--hash", event.hash)
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.startswith(
        f"OK: event {event.seq} of localhost/oak-primary is in the checkpoint of size 7"
    )

    # The leaf changed by one character: refused.
    changed = dict(document, leaf=document["leaf"].replace('"grant"', '"grunt"'))
    refused = run_tool(tmp_path, json.dumps(changed), saved, key)
    assert refused.returncode == 1
    # A receipt's fingerprint that is not this event's: refused.
    other = run_tool(tmp_path, proof.text, saved, key, "--hash", events[1].hash)
    assert other.returncode == 1

    # A checkpoint saved earlier (size 5): the proof for that size, asked for by ?size=.
    earlier = (setup["out"] / "oak-primary" / "5").read_text()
    mismatch = run_tool(tmp_path, proof.text, earlier, key)
    assert mismatch.returncode == 1 and "size=5" in mismatch.stderr
    at_five = client.get(checkpoints.proof_path(world.oak.id, "oak-primary", event.seq) + "&size=5")
    assert at_five.json["tree_size"] == 5
    assert run_tool(tmp_path, at_five.text, earlier, key).returncode == 0


# --- receipts and the history page link to the proof -----------------------------------------


def proof_links(received: Received) -> list[str]:
    return re.findall(
        r"http://localhost(/schools/[^\s]+/ledger/proof/\d+\?t=[\w-]+)", received.text()
    )


def test_the_receipt_names_each_entry_and_links_its_proof(setup, mail_server, tmp_path):
    world = setup["world"]
    client = setup["app"].test_client()
    [event] = answer(world, 1, receipt=True)
    delivery = send_pending(now=utcnow() + timedelta(minutes=5))
    assert delivery.sent == 1
    [receipt] = [m for m in mail_server.messages if "ada@example.org" in m.rcpt_tos]
    body = text_of(receipt.text())
    assert f"(entry {event.seq - 1})" in body
    assert "ready once the school's next daily signature includes these changes" in body
    [link] = proof_links(receipt)
    assert client.get(link).status_code == 404  # not signed yet

    sign(setup)
    document = client.get(link).json
    assert document["chain"]["hash"] == event.hash
    key = str(setup["signer"].verifier)
    saved = client.get("/schools/oak-primary/ledger/checkpoint").text
    checked = run_tool(tmp_path, json.dumps(document), saved, key, "--hash", event.hash)
    assert checked.returncode == 0, checked.stderr

    # A later receipt, once a checkpoint holds the change, does not say to wait.
    answer(world, 1, receipt=True)
    sign(setup)
    send_pending(now=utcnow() + timedelta(minutes=5))
    latest = [m for m in mail_server.messages if "ada@example.org" in m.rcpt_tos][-1]
    assert "ready once" not in text_of(latest.text())
    assert client.get(proof_links(latest)[0]).status_code == 200


def test_the_history_page_links_each_decisions_proof(setup):
    world = setup["world"]
    client = setup["app"].test_client()
    [event] = answer(world, 1)
    sign(setup)
    sign_in_as(client, "ada@example.org")
    page = client.get("/family/history")
    assert page.status_code == 200
    path = checkpoints.proof_path(world.oak.id, "oak-primary", event.seq)
    assert path.replace("&", "&amp;") in page.text or path in page.text
    assert f"(entry {event.seq - 1})" in text_of(page.text)
    assert client.get(path).json["leaf_index"] == event.seq - 1


# --- the daily job ----------------------------------------------------------------------------


def test_the_daily_job_signs_writes_and_emails_the_dpo(setup, mail_server):
    world = setup["world"]
    answer(world, 4)
    ran = daily.run_due(only="checkpoints")
    assert [r.summary for r in ran] == ["2 signed, 0 unchanged"]
    assert (setup["out"] / "oak-primary" / "4").exists()
    assert (setup["out"] / "elm-academy" / "0").exists()
    send_pending()
    [email] = [m for m in mail_server.messages if m.rcpt_tos == ["dpo@oak.example"]]
    assert (
        email.message["Subject"] == "The signed consent record of Oak Primary School: 4 decisions"
    )
    body = email.text().replace("\r\n", "\n")
    note = (setup["out"] / "oak-primary" / "checkpoint").read_text()
    assert note.strip() in body
    assert str(setup["signer"].verifier) in body
    # Elm has no DPO address: no email, but its checkpoint is written.
    assert not [m for m in mail_server.messages if "elm" in " ".join(m.rcpt_tos)]
    # Once a day.
    assert daily.run_due(only="checkpoints") == []


def test_the_dpo_is_told_at_once_when_the_history_changed(setup, mail_server, is_postgres):
    world = setup["world"]
    answer(world, 4)
    sign(setup)
    # Someone rewrites Oak's history: the last two events go, the head moves back.
    if is_postgres:
        db.session.execute(text("ALTER TABLE consent_events DISABLE TRIGGER USER"))
    else:
        db.session.execute(text("DROP TRIGGER consent_events_no_delete"))
    oak = world.oak.id
    db.session.execute(
        text("DELETE FROM consent_events WHERE school_id = :s AND seq > 2"), {"s": oak}
    )
    last = db.session.scalar(
        select(ConsentEvent.hash).where(ConsentEvent.school_id == oak, ConsentEvent.seq == 2)
    )
    db.session.execute(
        update(LedgerHead).where(LedgerHead.school_id == oak).values(seq=2, hash=last)
    )
    db.session.commit()
    ledger.rebuild_tree()
    ran = daily.run_due(only="checkpoints")
    assert ran[0].summary == "0 signed, 1 unchanged; NOT SIGNED (history changed?): oak-primary"
    send_pending()
    [email] = [m for m in mail_server.messages if m.rcpt_tos == ["dpo@oak.example"]]
    assert email.message["Subject"] == (
        "Action needed: Oak Primary School's consent record was not signed"
    )
    assert "the ledger holds 2 events, but a checkpoint of 4 was signed" in email.text()
    # Nothing was signed over the changed history.
    sizes = db.session.scalars(
        select(LedgerCheckpoint.size).where(LedgerCheckpoint.school_id == oak)
    ).all()
    assert sizes == [4]


def test_the_key_and_folder_go_together(tmp_path):
    with pytest.raises(ConfigurationError, match="go together"):
        load({"PORTAL_CHECKPOINT_KEY": "/somewhere/key"}, str(tmp_path))
    both = load({"PORTAL_CHECKPOINT_KEY": "/k", "PORTAL_CHECKPOINT_DIR": "/d"}, str(tmp_path))
    assert (both["PORTAL_CHECKPOINT_KEY"], both["PORTAL_CHECKPOINT_DIR"]) == ("/k", "/d")


def test_without_a_key_there_is_no_daily_checkpoint(app):
    assert "checkpoints" not in daily.jobs()
    assert tree.root_at(db.session(), 1, 0) == merkle.EMPTY_ROOT
