"""The canonical encoding of a ledger event and its chained hash (see portal/ledger/__init__
and docs/ledger.md). Two formats: 1, whose hash covers the note's text, and 2 (every event
written since), whose hash covers a salted commitment to the note and the seq of the
objection an outcome answers."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from ..models import ActorType, Channel, ConsentEvent, Decision


def format_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("ledger times must be timezone-aware")
    # Not strftime: "%Y" does not zero-pad years before 1000 on every platform, and the
    # encoding promises four digits.
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}"
        f"T{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}Z"
    )


# Values that need no JSON escaping (the CHECK constraints allow only these), written as is;
# anything else, such as a tampered value, goes through json.dumps like every note.
_PLAIN_WORDS = frozenset(value.value for kind in (ActorType, Channel, Decision) for value in kind)


def _string(value: str | None) -> str:
    if value is None:
        return "null"
    if value in _PLAIN_WORDS:
        return '"' + value + '"'
    return json.dumps(value, ensure_ascii=True)


_TEMPLATE = (
    '{"actor_id":%s,"actor_type":%s,"channel":%s,"decision":%s,"guardian_id":%s,"note":%s,'
    '"notice_version":%s,"occurred_at":%s,"pupil_id":%s,"purpose_id":%s,"purpose_version":%s,'
    '"school_id":%s,"seq":%s}'
)


_TEMPLATE_2 = (
    '{"actor_id":%s,"actor_type":%s,"answers_seq":%s,"channel":%s,"decision":%s,"format":2,'
    '"guardian_id":%s,"language":%s,"note_commitment":%s,"notice_version":%s,"occurred_at":%s,'
    '"pupil_id":%s,"purpose_id":%s,"purpose_version":%s,"school_id":%s,"seq":%s}'
)

SALT_BYTES = 32


def new_salt() -> str:
    """A fresh random salt for a note's commitment: 64 lower-case hex characters."""
    return secrets.token_hex(SALT_BYTES)


def note_commitment(salt: str, note: str) -> str:
    """The commitment a format-2 event's hash covers instead of its note:
    sha256(salt + note) over UTF-8, as 64 lower-case hex characters. The salt keeps a short
    note ("yes", a name) from being guessed from the commitment once the note is erased."""
    return hashlib.sha256((salt + note).encode("utf-8")).hexdigest()


def canonical_text_2(
    school_id: int | str,
    seq: int | str,
    occurred_at: str,
    actor_type: str,
    actor_id: int | str | None,
    guardian_id: int | str,
    pupil_id: int | str | None,
    purpose_id: int | str,
    purpose_version: int | str,
    notice_version: int | str | None,
    decision: str,
    channel: str,
    note_commitment: str | None,
    answers_seq: int | str | None,
    language: str | None = None,
) -> str:
    """The canonical encoding of a format-2 event, from already formatted parts: exactly
    what json.dumps with sorted keys, compact separators and ensure_ascii writes for its 16
    keys (the 13 of format 1 without `note`, with `answers_seq`, `format` = 2, `language`
    and `note_commitment`)."""
    plain = _PLAIN_WORDS
    return _TEMPLATE_2 % (
        "null" if actor_id is None else actor_id,
        '"' + actor_type + '"' if actor_type in plain else _string(actor_type),
        "null" if answers_seq is None else answers_seq,
        '"' + channel + '"' if channel in plain else _string(channel),
        '"' + decision + '"' if decision in plain else _string(decision),
        guardian_id,
        _string(language),
        "null" if note_commitment is None else _string(note_commitment),
        "null" if notice_version is None else notice_version,
        _string(occurred_at),
        "null" if pupil_id is None else pupil_id,
        purpose_id,
        purpose_version,
        school_id,
        seq,
    )


def canonical_text(
    school_id: int | str,
    seq: int | str,
    occurred_at: str,
    actor_type: str,
    actor_id: int | str | None,
    guardian_id: int | str,
    pupil_id: int | str | None,
    purpose_id: int | str,
    purpose_version: int | str,
    notice_version: int | str | None,
    decision: str,
    channel: str,
    note: str | None,
) -> str:
    """The canonical encoding from already formatted parts (numbers as int or decimal text,
    the time as format_time gives it). Exactly what `json.dumps(fields, sort_keys=True,
    separators=(",", ":"), ensure_ascii=True)` writes, built without a dict for speed (the
    verify loop runs this once per event)."""
    plain = _PLAIN_WORDS
    return _TEMPLATE % (
        "null" if actor_id is None else actor_id,
        '"' + actor_type + '"' if actor_type in plain else _string(actor_type),
        '"' + channel + '"' if channel in plain else _string(channel),
        '"' + decision + '"' if decision in plain else _string(decision),
        guardian_id,
        "null" if note is None else json.dumps(note, ensure_ascii=True),
        "null" if notice_version is None else notice_version,
        '"' + occurred_at + '"' if occurred_at.isascii() and occurred_at.isprintable()
        and '"' not in occurred_at and "\\" not in occurred_at else _string(occurred_at),
        "null" if pupil_id is None else pupil_id,
        purpose_id,
        purpose_version,
        school_id,
        seq,
    )  # fmt: skip


def canonical(
    *,
    school_id: int,
    seq: int,
    occurred_at: datetime | str,
    actor_type: str,
    actor_id: int | None,
    guardian_id: int,
    pupil_id: int | None,
    purpose_id: int,
    purpose_version: int,
    notice_version: int | None,
    decision: str,
    channel: str,
    note: str | None,
    format: int = 1,
    note_commitment: str | None = None,
    answers_seq: int | None = None,
    language: str | None = None,
) -> str:
    """The canonical JSON encoding of one event (see the package documentation). Format 1
    encodes `note`; format 2 encodes `note_commitment` and `answers_seq` instead."""
    if format not in (1, 2):
        raise ValueError(f"unknown ledger format {format!r}")
    # The parts both formats share, formatted once.
    shared = (
        school_id,
        seq,
        occurred_at if isinstance(occurred_at, str) else format_time(occurred_at),
        str(actor_type),
        actor_id,
        guardian_id,
        pupil_id,
        purpose_id,
        purpose_version,
        notice_version,
        str(decision),
        str(channel),
    )
    if format == 2:
        return canonical_text_2(*shared, note_commitment, answers_seq, language)
    return canonical_text(*shared, note)


def chain_hash(prev_hash: str, canonical_text: str) -> str:
    return hashlib.sha256((prev_hash + canonical_text).encode("utf-8")).hexdigest()


# The fields of an event the canonical form is made from (each format uses its own share).
CANONICAL_FIELDS = (
    "school_id", "seq", "occurred_at", "actor_type", "actor_id", "guardian_id", "pupil_id",
    "purpose_id", "purpose_version", "notice_version", "decision", "channel", "note", "format",
    "note_commitment", "answers_seq", "language",
)  # fmt: skip


def event_canonical(event: ConsentEvent | Any, school_id: int | None = None) -> str:
    """The canonical form of an event, or of a row with the same attributes (a row without
    `school_id` takes it from the argument)."""
    fields = {name: getattr(event, name) for name in CANONICAL_FIELDS if name != "school_id"}
    return canonical(school_id=event.school_id if school_id is None else school_id, **fields)
