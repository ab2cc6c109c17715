"""Signed notes and checkpoints (portal/ledger/notes.py) against the published example of Go's
`note` package (golang.org/x/mod/sumdb/note, BSD-licensed: the PeterNeumann key and note in
its documentation and example test), byte for byte, and a checkpoint of a Merkle root."""

from __future__ import annotations

import pytest

from portal.ledger import merkle, notes

GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n"
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqd"
    "ngotpRZb6KE6RyyBwJnAM=\n"
)


def test_the_go_example_is_signed_byte_for_byte_and_its_keys_read_back():
    signer = notes.Signer.parse(GO_SIGNER)
    assert signer.id == 0xC74F20A3
    assert str(signer) == GO_SIGNER
    assert str(signer.verifier) == GO_VERIFIER
    assert notes.sign(GO_TEXT, signer) == GO_NOTE
    assert notes.open_note(GO_NOTE, notes.Verifier.parse(GO_VERIFIER)) == GO_TEXT


def test_a_changed_note_or_another_key_does_not_verify():
    verifier = notes.Verifier.parse(GO_VERIFIER)
    with pytest.raises(notes.NoteError, match="does not verify"):
        notes.open_note(GO_NOTE.replace("answer", "ANSWER"), verifier)
    other = notes.Signer.generate("PeterNeumann")
    with pytest.raises(notes.NoteError, match="no signature"):
        notes.open_note(GO_NOTE, other.verifier)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong id
        "PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # algorithm
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # a space
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",  # short
    ],
)
def test_a_malformed_verifier_key_is_refused(key):
    with pytest.raises(notes.NoteError):
        notes.Verifier.parse(key)


def test_a_checkpoint_of_a_merkle_root_is_signed_and_read_back():
    hashes = [merkle.leaf_hash(bytes([i])) for i in range(5)]
    checkpoint = notes.Checkpoint("consent.example.org/oak-primary", 5, merkle.root(hashes))
    signer = notes.Signer.generate("consent.example.org/oak-primary")
    note = notes.sign(checkpoint.text(), signer)
    assert note.startswith("consent.example.org/oak-primary\n5\n")
    verifier = notes.Verifier.parse(str(signer.verifier))
    assert notes.Checkpoint.parse(notes.open_note(note, verifier)) == checkpoint
    for broken in ("origin\n5\n", "origin\n-1\nAAAA\n", "origin\n05\n" + "A" * 43 + "=\n"):
        with pytest.raises(notes.NoteError):
            notes.Checkpoint.parse(broken)


def test_flask_ledger_keygen_writes_a_private_key_file_and_prints_the_verifier(app, tmp_path):
    """The private key goes to a new file only its owner can read, and reads back; the
    printed verifier key checks what it signs; an existing file is never overwritten."""
    out = tmp_path / "checkpoint.key"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ledger", "keygen", "--name", "consent.example.org",
                                 "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o600
    signer = notes.Signer.parse(out.read_text())
    verifier = notes.Verifier.parse(result.output.strip())
    assert str(signer.verifier) == str(verifier)
    assert notes.open_note(notes.sign("hello\n", signer), verifier) == "hello\n"
    again = runner.invoke(args=["ledger", "keygen", "--name", "x", "--out", str(out)])
    assert again.exit_code != 0 and "never overwritten" in again.output
    assert notes.Signer.parse(out.read_text()).id == signer.id
