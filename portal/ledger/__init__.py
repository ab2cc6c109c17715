"""The consent ledger: append-only, one hash chain per school (docs/ledger.md).

Every decision is one event appended to its school's chain. Appending also updates the
projection of current decisions, and lets the caller add rows of its own (such as outbox
emails), all in one transaction: they commit together or not at all.

Canonical encoding (so that a program outside the portal can recompute every hash)
-------------------------------------------------------------------------------------
An event is encoded as a JSON object with exactly these keys, in this (alphabetical) order:

    actor_id, actor_type, channel, decision, guardian_id, note, notice_version,
    occurred_at, pupil_id, purpose_id, purpose_version, school_id, seq

- integers in decimal; a missing value (actor_id, note, notice_version, pupil_id) is `null`;
- `occurred_at` in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six fractional digits);
- strings as Python's `json.dumps` writes them with `ensure_ascii=True`: only ASCII, other
  characters as `\\uXXXX` escapes (lower-case hex), `"` and `\\` escaped;
- no whitespace: separators are `,` and `:`.

That is `json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`. Then

    hash = sha256(prev_hash + canonical).hexdigest()

where `prev_hash` is the previous event's hash as 64 lower-case hex characters (64 zeros for
seq 1) and the concatenation is encoded as UTF-8 (it is ASCII). `seq` counts from 1 without
gaps within each school. `bench/` and the tests recompute hashes with `json.dumps` directly.
"""

from __future__ import annotations

from .append import (
    ANSWERS,
    FORMAT,
    OBJECTIONS,
    OUTCOMES,
    Actor,
    BeforeCommit,
    DecisionRequest,
    LedgerError,
    SkipRule,
    StandingDecision,
    allowed_decisions,
    axis_of,
    record,
    record_many,
    subscribe,
)
from .encoding import (
    canonical,
    chain_hash,
    event_canonical,
    format_time,
    new_salt,
    note_commitment,
)
from .erasure import NoteErasure, erase_notes
from .verify import (
    Head,
    SchoolVerification,
    Verification,
    events_for,
    heads,
    rebuild_projection,
    rebuild_tree,
    stream_events,
    verify,
    verify_school,
)

__all__ = [
    "ANSWERS",
    "FORMAT",
    "OBJECTIONS",
    "OUTCOMES",
    "Actor",
    "BeforeCommit",
    "DecisionRequest",
    "Head",
    "LedgerError",
    "NoteErasure",
    "SchoolVerification",
    "SkipRule",
    "StandingDecision",
    "Verification",
    "allowed_decisions",
    "axis_of",
    "canonical",
    "chain_hash",
    "erase_notes",
    "event_canonical",
    "events_for",
    "format_time",
    "heads",
    "new_salt",
    "note_commitment",
    "rebuild_projection",
    "rebuild_tree",
    "record",
    "record_many",
    "stream_events",
    "subscribe",
    "verify",
    "verify_school",
]
