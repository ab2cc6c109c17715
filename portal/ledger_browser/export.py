"""The filtered events as a CSV file (docs/security.md, promises 18 and 19).

`start_ledger_export` checks the filter and records the export in the staff audit log (who,
when, which filter, up to which seq) in a transaction of its own, committed before the first
byte of the file is sent; `ledger_csv` then streams the matching events up to that seq, in
the chain's order, in one snapshot.

On PostgreSQL the file is written by the database: `COPY (SELECT ...) TO STDOUT WITH (FORMAT
csv)` of the same columns, the same filter and the same order, with every cell made safe in
SQL exactly as `portal.csv_files.safe_cell` does (a million rows in seconds, where making each row
in Python took half a minute). The files of the two paths read back through `csv.reader` to
the same cells (a test runs both on PostgreSQL and compares them). SQLite keeps the Python
path.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Integer, and_, bindparam, func, literal_column, select, true

from .. import audit_log
from ..csv_files import CHUNK_BYTES, copy_file, copy_statement, csv_file, safe_sql, snapshot
from ..database import writing
from ..extensions import db
from ..ledger import format_time
from ..models import (
    ConsentEvent,
    Guardian,
    LedgerHead,
    Pupil,
    Purpose,
    PurposeVersion,
    StaffUser,
)
from ..queries import wording_at_event
from .events import EventFilter, conditions, describe, stream_rows
from .names import (
    ActorContact,
    GuardianContact,
    actor_name,
    actor_name_sql,
    guardian_contact,
    person_name,
    person_name_sql,
    with_actor,
)

LEDGER_ACTION = "export.ledger"
LEDGER_HEADER = (
    "seq", "occurred_at", "pupil_mis_id", "pupil_name", "class", "guardian_name",
    "guardian_email", "purpose_key", "purpose_title", "purpose_version", "notice_version",
    "decision", "channel", "actor_type", "actor", "note", "prev_hash", "hash",
)  # fmt: skip


def start_ledger_export(staff: StaffUser, wanted: EventFilter) -> int:
    """Check the filter (NotFound for another school's pupil or purpose), then record the
    export with its filter and the chain head it runs up to. Returns that head's seq: the
    file holds the matching events up to it, whatever is appended while it is sent."""
    school_id = staff.school_id
    conditions(school_id, wanted)
    detail = describe(school_id, wanted)
    up_to = db.session.scalar(select(LedgerHead.seq).where(LedgerHead.school_id == school_id))
    detail["up_to_seq"] = up_to or 0
    with writing():  # committed before the first byte of the file is sent
        audit_log.record(staff, LEDGER_ACTION, detail=detail)
    return up_to or 0


def ledger_cells(row: Any) -> tuple[object, ...]:
    """One row of `events.rows_query` as the file's cells, in LEDGER_HEADER's order."""
    return (
        row.seq, format_time(row.occurred_at), row.mis_id,
        person_name(row.pupil_forename, row.pupil_surname), row.class_name,
        person_name(row.guardian_forename, row.guardian_surname), row.guardian_email,
        row.purpose_key, row.purpose_title, row.purpose_version, row.notice_version,
        row.decision, row.channel, row.actor_type, actor_name(row), row.note, row.prev_hash,
        row.hash,
    )  # fmt: skip


LEDGER_METHODS = ("auto", "python", "copy")


def ledger_csv(
    school_id: int,
    wanted: EventFilter,
    *,
    up_to_seq: int,
    batch: int = 2_000,
    method: str = "auto",
    chunk: int = CHUNK_BYTES,
) -> Iterator[bytes]:
    """The matching events up to `up_to_seq`, in seq order, as a CSV file, streamed.

    `method`: "copy" (PostgreSQL writes the rows), "python" (rows made by `csv_file`, read
    `batch` at a time) or "auto", the first on PostgreSQL and the second elsewhere."""
    if method not in LEDGER_METHODS:
        raise ValueError(f"unknown method {method!r}")
    with snapshot():
        postgres = db.session.get_bind().dialect.name == "postgresql"
        if method == "copy" or (method == "auto" and postgres):
            yield from _ledger_csv_copy(school_id, wanted, up_to_seq=up_to_seq, chunk=chunk)
            return
        rows = stream_rows(school_id, wanted, up_to_seq=up_to_seq, batch=batch)
        cells = (ledger_cells(row) for row in rows)
        yield from csv_file(LEDGER_HEADER, cells, chunk=chunk)


# --- the ledger on PostgreSQL: the database writes the rows --------------------------------

# format_time's shape: 2025-10-06T09:30:00.000000Z, in UTC.
TIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def _lookup(query: Any, name: str) -> Any:
    """A LATERAL subquery for one event's looked-up cells. `OFFSET 0` keeps PostgreSQL from
    merging it into the outer query: its cells are then made once per distinct key (the
    guardian, the pupil, the purpose, the actor), and PostgreSQL's cache of lookups
    (Memoize) hands them to every other event with that key, instead of joining the names
    and checking them for every event."""
    return query.offset(0).lateral(name)


def ledger_copy_statement(
    school_id: int, wanted: EventFilter, *, up_to_seq: int
) -> tuple[str, dict[str, Any]]:
    """The ledger file's rows as `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)` and its
    parameters: text columns in LEDGER_HEADER's order, each the text `ledger_cells` and
    `safe_cell` make of it. The same rows as `events.rows_query` (an event whose
    purpose is not the school's is left out; a pupil, staff user or actor that is not found
    leaves its cells empty or named by id), in seq order."""
    where = conditions(school_id, wanted)
    where.append(ConsentEvent.seq <= up_to_seq)
    return copy_statement(ledger_cells_query().where(*where), {"ledger_school": school_id})


@functools.cache
def ledger_cells_query() -> Any:
    """The SELECT of `ledger_copy_statement` without its filter, for any school (the bound
    parameter `ledger_school`): built once, as building it costs more than a small school's
    rows do."""
    school_id = bindparam("ledger_school", type_=Integer)
    guardian = _lookup(
        select(
            safe_sql(person_name_sql(GuardianContact.forename, GuardianContact.surname)).label(
                "name"
            ),
            safe_sql(Guardian.email).label("email"),
        )
        .select_from(Guardian)
        .outerjoin(GuardianContact, guardian_contact(school_id))
        .where(Guardian.id == ConsentEvent.guardian_id),
        "guardian",
    )
    purpose = _lookup(
        select(
            safe_sql(Purpose.key).label("key"),
            safe_sql(func.coalesce(PurposeVersion.title, Purpose.title)).label("title"),
        )
        .select_from(Purpose)
        .outerjoin(
            PurposeVersion,
            and_(wording_at_event(), PurposeVersion.purpose_id == Purpose.id),
        )
        .where(Purpose.id == ConsentEvent.purpose_id, Purpose.school_id == school_id),
        "purpose",
    )
    pupil = _lookup(
        select(
            safe_sql(Pupil.mis_id).label("mis_id"),
            safe_sql(person_name_sql(Pupil.forename, Pupil.surname)).label("name"),
            safe_sql(Pupil.class_name).label("class_name"),
        ).where(Pupil.id == ConsentEvent.pupil_id, Pupil.school_id == school_id),
        "pupil",
    )
    one = select(literal_column("1").label("one")).subquery("one")
    actor_columns = SimpleNamespace(
        actor_type=ConsentEvent.actor_type,
        actor_id=ConsentEvent.actor_id,
        staff_name=StaffUser.name,
        staff_email=StaffUser.email,
        actor_forename=ActorContact.forename,
        actor_surname=ActorContact.surname,
    )
    actor = _lookup(
        with_actor(
            select(safe_sql(actor_name_sql(actor_columns)).label("name")).select_from(one),
            school_id,
        ),
        "actor",
    )
    e = ConsentEvent
    cells = (
        safe_sql(e.seq),
        # The time always begins with the year's digits: nothing to make safe.
        func.to_char(func.timezone("UTC", e.occurred_at), TIME_FORMAT),
        pupil.c.mis_id, pupil.c.name, pupil.c.class_name, guardian.c.name, guardian.c.email,
        purpose.c.key, purpose.c.title, safe_sql(e.purpose_version),
        safe_sql(e.notice_version), safe_sql(e.decision), safe_sql(e.channel),
        safe_sql(e.actor_type), actor.c.name, safe_sql(e.note), safe_sql(e.prev_hash),
        safe_sql(e.hash),
    )  # fmt: skip
    return (
        select(*(cell.label(name) for cell, name in zip(cells, LEDGER_HEADER, strict=True)))
        .select_from(ConsentEvent)
        .join(guardian, true())
        .join(purpose, true())
        .outerjoin(pupil, true())
        .outerjoin(actor, true())
        .order_by(ConsentEvent.seq)
    )


def _ledger_csv_copy(
    school_id: int, wanted: EventFilter, *, up_to_seq: int, chunk: int
) -> Iterator[bytes]:
    """The ledger file from PostgreSQL's COPY, in the caller's snapshot (its rows in seq
    order from the (school_id, seq) index, as `copy_file` streams them)."""
    statement, params = ledger_copy_statement(school_id, wanted, up_to_seq=up_to_seq)
    yield from copy_file(LEDGER_HEADER, statement, params, chunk=chunk)
