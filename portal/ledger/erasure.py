"""Erasing the notes of events whose people have passed the school's retention period.

A format-2 event's hash covers a salted commitment to its note, not the note: clearing the
note and its salt leaves the chain verifiable (the commitment stays, and with the salt gone
nobody can test a guess against it). The database's append-only triggers allow exactly this
UPDATE on format-2 rows and refuse every other. A format-1 event's hash covers the note's
text, so erasing it would break the chain: those are kept and reported (docs/ledger.md,
"Format 2", and docs/retention.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..models import ConsentEvent

CHUNK = 900


@dataclass
class NoteErasure:
    erased: int = 0
    # Seqs of format-1 events with a note, which cannot be erased without breaking the chain.
    kept_format_1: list[int] = field(default_factory=list)


_ERASE = (
    update(ConsentEvent)
    .where(
        ConsentEvent.school_id == bindparam("school"),
        ConsentEvent.seq.in_(bindparam("seqs", expanding=True)),
        ConsentEvent.format == 2,
        ConsentEvent.note.is_not(None),
    )
    .values(note=None, note_salt=None)
    .execution_options(synchronize_session=False)
)


def erase_notes(session: Session, school_id: int, seqs: Iterable[int]) -> NoteErasure:
    """Clear the note and salt of these events of one school, in the caller's transaction.
    Events without a note are left alone; format-1 events with a note are kept and listed."""
    wanted = sorted(set(seqs))
    result = NoteErasure()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        result.kept_format_1.extend(
            session.scalars(
                select(ConsentEvent.seq).where(
                    ConsentEvent.school_id == school_id,
                    ConsentEvent.seq.in_(chunk),
                    ConsentEvent.format == 1,
                    ConsentEvent.note.is_not(None),
                )
            )
        )
        outcome = session.execute(_ERASE, {"school": school_id, "seqs": chunk})
        result.erased += outcome.rowcount  # type: ignore[attr-defined]
    return result
