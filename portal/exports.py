"""Exports: the CSV files staff take away (SECURITY.md items 18 and 19).

- `safe_cell` and `csv_file`: every cell that a spreadsheet could read as a formula (it
  begins with `=`, `+`, `-`, `@`, a tab, a carriage return, a line feed or NUL) is prefixed
  with `'`; rows are written by Python's `csv.writer` (minimal quoting, CRLF line ends), so
  every file reads back through `csv.reader` to the same cells. Files start with a UTF-8
  byte order mark, so that Excel reads names such as "Zoë" correctly (decode with
  "utf-8-sig" to read them back).
- The ledger export (the filtered events of one school), the marketing list (who consented
  to marketing emails and has not objected to direct marketing) and the suppression list
  (everyone who objected, and since when): each a generator that reads in batches, so a
  file of a million rows takes no more memory than one of ten.
- Each export is recorded in the staff audit log (who, when, which filter) in a transaction
  of its own, committed before the first byte of the file is sent.
- On PostgreSQL the ledger export is written by the database: `COPY (SELECT ...) TO STDOUT
  WITH (FORMAT csv)` of the same columns, the same filter and the same order, with every cell
  made safe in SQL exactly as `safe_cell` does, streamed through psycopg's `copy()` (a
  million rows in seconds, where making each row in Python took half a minute). Python adds
  the byte order mark and the header, and ends records with CRLF as `csv.writer` does. The
  files of the two paths read back through `csv.reader` to the same cells (a test runs
  both on PostgreSQL and compares them). SQLite keeps the Python path.

No Flask request state: the views pass the staff user and the filter.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)

from . import audit_log, consent, ledger_browser
from .database import begin_write
from .errors import NotFound
from .extensions import db
from .ledger import format_time
from .ledger_browser import (
    ActorGuardian,
    EventFilter,
    actor_name,
    actor_name_sql,
    person_name,
    person_name_sql,
    with_actor,
)
from .models import (
    Choice,
    ConsentEvent,
    CurrentDecision,
    Decision,
    DecisionAxis,
    Guardian,
    GuardianLink,
    LedgerHead,
    Pupil,
    Purpose,
    PurposeVersion,
    School,
    Scope,
    StaffUser,
)
from .queries import wording_at_event
from .types import LONDON, utcnow

# --- CSV that a spreadsheet cannot run (SECURITY.md 18) -----------------------------------

# What a spreadsheet may take as the start of a formula, or that hides one (OWASP, "CSV
# Injection"): =, +, -, @, and tab, carriage return, line feed and NUL before any of them.
DANGEROUS_FIRST = frozenset("=+-@\t\r\n\x00")
BOM = "\ufeff"
CHUNK_BYTES = 64 * 1024


def safe_cell(value: object) -> str:
    """The cell as text, with `'` in front when it begins with a dangerous character."""
    text = "" if value is None else str(value)
    if text and text[0] in DANGEROUS_FIRST:
        return "'" + text
    return text


class _Line:
    """The smallest file `csv.writer` can write to: it keeps what one row wrote."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


def csv_lines(rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """Each row as one CSV record (ending in CRLF), every cell made safe."""
    line = _Line()
    writer = csv.writer(line, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        yield line.take()


def csv_file(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, chunk: int = CHUNK_BYTES
) -> Iterator[bytes]:
    """A whole CSV file as UTF-8 (with a byte order mark), header first, in pieces of about
    `chunk` bytes: a few rows at a time, never the whole file."""
    pending: list[str] = [BOM]
    size = 0
    for text in csv_lines(_with_header(header, rows)):
        pending.append(text)
        size += len(text)
        if size >= chunk:
            yield "".join(pending).encode("utf-8")
            pending.clear()
            size = 0
    if pending:
        yield "".join(pending).encode("utf-8")


def _with_header(
    header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Iterator[Sequence[object]]:
    yield header
    yield from rows


@contextmanager
def _snapshot() -> Iterator[None]:
    """Read one consistent snapshot for a whole file (REPEATABLE READ on PostgreSQL; SQLite's
    read transaction), and end it when the file is done or abandoned."""
    session = db.session()
    if session.in_transaction():
        session.commit()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        yield
    finally:
        session.rollback()


def filename(kind: str, school_slug: str, *, today: date | None = None) -> str:
    """`ledger-oak-primary-2025-10-06.csv`: the kind, the school and the day (UK time)."""
    today = today or utcnow().astimezone(LONDON).date()
    return f"{kind}-{school_slug}-{today.isoformat()}.csv"


def _record(staff: StaffUser, action: str, detail: dict[str, Any]) -> None:
    """Write the audit entry for an export in a transaction of its own, and commit it."""
    session = db.session()
    begin_write(session)
    try:
        audit_log.record(staff, action, detail=detail)
        session.commit()
    except Exception:
        session.rollback()
        raise


# --- the ledger ----------------------------------------------------------------------------

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
    ledger_browser.conditions(school_id, wanted)
    detail = ledger_browser.describe(school_id, wanted)
    up_to = db.session.scalar(select(LedgerHead.seq).where(LedgerHead.school_id == school_id))
    detail["up_to_seq"] = up_to or 0
    _record(staff, LEDGER_ACTION, detail)
    return up_to or 0


def ledger_cells(row: Any) -> tuple[object, ...]:
    """One row of `ledger_browser.rows_query` as the file's cells, in LEDGER_HEADER's order."""
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
    with _snapshot():
        postgres = db.session.get_bind().dialect.name == "postgresql"
        if method == "copy" or (method == "auto" and postgres):
            yield from _ledger_csv_copy(school_id, wanted, up_to_seq=up_to_seq, chunk=chunk)
            return
        rows = ledger_browser.stream_rows(school_id, wanted, up_to_seq=up_to_seq, batch=batch)
        yield from csv_file(LEDGER_HEADER, (ledger_cells(row) for row in rows), chunk=chunk)


# --- the ledger on PostgreSQL: the database writes the rows ----------------------------------

# DANGEROUS_FIRST as code points for PostgreSQL's ascii() (the code point of the first
# character; 0 for an empty string). NUL cannot occur in PostgreSQL text.
DANGEROUS_CODES = tuple(sorted(ord(c) for c in DANGEROUS_FIRST if c != "\x00"))
# format_time's shape: 2025-10-06T09:30:00.000000Z, in UTC.
TIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def safe_sql(value: Any) -> ColumnElement[str]:
    """`safe_cell` in SQL (PostgreSQL): the value as text, with `'` in front when it begins
    with a dangerous character; NULL stays NULL (an empty cell).

    Ordered for speed, as every cell of a million rows goes through it: an integer is
    dangerous only when negative; text whose first character is a letter (above "@", the
    last dangerous one) or a digit is settled by one or three comparisons of its first
    character's code before the list of dangerous ones is tried."""
    if isinstance(value.type, Integer):
        digits = cast(value, String)
        return case((value < 0, literal("'", String) + digits), else_=digits)
    text = value if isinstance(value.type, String) else cast(value, String)
    code = func.ascii(text)
    dangerous = and_(
        code <= max(DANGEROUS_CODES),
        or_(code < ord("0"), code > ord("9")),
        code.in_([literal_column(str(c)) for c in DANGEROUS_CODES]),
    )
    return case((dangerous, literal("'", String) + text), else_=text)


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
    `safe_cell` make of it. The same rows as `ledger_browser.rows_query` (an event whose
    purpose is not the school's is left out; a pupil, staff user or actor that is not found
    leaves its cells empty or named by id), in seq order."""
    where = ledger_browser.conditions(school_id, wanted)
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
            safe_sql(person_name_sql(Guardian.forename, Guardian.surname)).label("name"),
            safe_sql(Guardian.email).label("email"),
        ).where(Guardian.id == ConsentEvent.guardian_id),
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
        actor_forename=ActorGuardian.forename,
        actor_surname=ActorGuardian.surname,
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


# For the export's own transaction (it is rolled back at the end): plan the query as the
# stream it is, rows in seq order from the (school_id, seq) index as they are made, never a
# sort of the whole result before the first row (which the planner otherwise picks for some
# schools); no parallel workers (they sort too, and compete with this process for the
# cores); and no JIT compilation (its start-up costs more than it saves on a stream).
STREAM_SETTINGS = {"enable_sort": "off", "max_parallel_workers_per_gather": "0", "jit": "off"}
STREAM_SETTINGS_SQL = "SELECT " + ", ".join(
    f"set_config('{name}', '{value}', true)" for name, value in STREAM_SETTINGS.items()
)
COPY_PARAMETER_TYPES = (int, str, datetime, type(None))


# Compiled COPY statements by the query's cache key (its shape without its values): the
# statement is the same for every school and filter of one shape, and compiling it costs
# more than a small school's rows do. Few shapes exist (which filter fields are given).
_COMPILED: dict[Any, Any] = {}
_COMPILED_MAX = 256


def copy_statement(query: Any, values: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """`COPY (query) TO STDOUT WITH (FORMAT csv)` and its parameters (`values` for its named
    bound parameters), which psycopg binds on the client side (COPY takes no server-side
    parameters): values are never formatted into the SQL here. Only plain values are
    expected (numbers, text, aware times)."""
    dialect = db.session.get_bind().dialect
    key = query._generate_cache_key()
    found = None if key is None else _COMPILED.get((dialect.name, dialect.driver, key.key))
    if found is None:
        found = dialect.statement_compiler(dialect, query, cache_key=key)
        if key is not None:
            if len(_COMPILED) >= _COMPILED_MAX:
                _COMPILED.clear()
            _COMPILED[(dialect.name, dialect.driver, key.key)] = found
    params = dict(
        found.construct_params(values, extracted_parameters=key.bindparams)
        if key is not None
        else found.construct_params(values)
    )
    for name, value in params.items():
        if not isinstance(value, COPY_PARAMETER_TYPES) or (
            isinstance(value, datetime) and value.tzinfo is None
        ):
            raise TypeError(f"unexpected parameter {name}={value!r} for COPY")
    return f"COPY ({found.string}) TO STDOUT WITH (FORMAT csv)", params


def _ledger_csv_copy(
    school_id: int, wanted: EventFilter, *, up_to_seq: int, chunk: int
) -> Iterator[bytes]:
    """The ledger file from PostgreSQL's COPY, in the caller's snapshot: the byte order mark
    and header, then the rows in pieces of about `chunk` bytes, records ending in CRLF."""
    statement, params = ledger_copy_statement(school_id, wanted, up_to_seq=up_to_seq)
    raw = db.session.connection().connection.driver_connection
    if raw is None:
        raise RuntimeError("no database connection")
    encoding = raw.info.encoding  # the client encoding: what COPY writes in
    header = (BOM + next(csv_lines([LEDGER_HEADER]))).encode("utf-8")
    with raw.cursor() as cursor:
        cursor.execute(STREAM_SETTINGS_SQL)  # SET LOCAL, the three in one round trip
    with raw.cursor() as cursor, cursor.copy(statement, params) as copy:
        # On an early close (the client went away), psycopg cancels the COPY and drains it.
        for block in crlf_blocks(copy, chunk=chunk):
            if encoding != "utf-8":
                block = block.decode(encoding).encode("utf-8")
            if header:
                block, header = header + block, b""
            yield block
    if header:
        yield header  # no rows


def crlf_blocks(rows: Iterable[bytes | memoryview], *, chunk: int = CHUNK_BYTES) -> Iterator[bytes]:
    """COPY's CSV rows (one row per item, as libpq hands them over, each ending in LF) joined
    into blocks of about `chunk` bytes, each record ending in CRLF as `csv.writer` writes it.
    A line break inside a quoted cell is data and stays as it is."""
    pending: list[bytes | memoryview] = []
    size = 0
    for row in rows:
        pending.append(row)
        size += len(row)
        if size >= chunk:
            yield _crlf(pending)
            pending.clear()
            size = 0
    if pending:
        yield _crlf(pending)


def _crlf(rows: list[bytes | memoryview]) -> bytes:
    block = b"".join(rows)
    if block.count(b"\n") == len(rows):  # no line break inside a cell: one per record
        return block.replace(b"\n", b"\r\n")
    # Each row ends with its record's LF; any other LF is inside a quoted cell.
    return b"\r\n".join(bytes(row)[:-1] for row in rows) + b"\r\n"


# --- marketing -----------------------------------------------------------------------------

MARKETING_ACTION = "export.marketing"
SUPPRESSION_ACTION = "export.suppression"
MARKETING_HEADER = ("name", "email", "school")
SUPPRESSION_HEADER = ("email", "objected_since")
GUARDIAN_BATCH = 500


def marketing_purposes(school_id: int) -> list[Purpose]:
    """The school's marketing-email consents in force: what the marketing list can be of."""
    return list(
        db.session.scalars(
            select(Purpose)
            .where(
                Purpose.school_id == school_id,
                Purpose.marketing.is_(True),
                Purpose.scope == Scope.GUARDIAN,
                Purpose.choice == Choice.CONSENT,
                Purpose.active.is_(True),
            )
            .order_by(Purpose.position, Purpose.id)
        )
    )


def _selected(school_id: int, purpose_id: int | None) -> list[Purpose]:
    purposes = marketing_purposes(school_id)
    if purpose_id is None:
        return purposes
    chosen = [p for p in purposes if p.id == purpose_id]
    if not chosen:
        raise NotFound("no such marketing purpose at this school")
    return chosen


def _objects_to_marketing(school_id: int) -> Any:
    """Correlated on Guardian.id: an objection to direct marketing stands at this school,
    on any of its marketing purposes (retired ones too): absolute, whatever else they said."""
    return exists().where(
        CurrentDecision.school_id == school_id,
        CurrentDecision.guardian_id == Guardian.id,
        CurrentDecision.axis == DecisionAxis.OBJECTION.value,
        CurrentDecision.decision == Decision.OBJECT.value,
        CurrentDecision.purpose_id.in_(
            select(Purpose.id).where(Purpose.school_id == school_id, Purpose.marketing.is_(True))
        ),
    )


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


def marketing_recipients(
    school_id: int, *, purpose_id: int | None = None, now: datetime | None = None
) -> Iterator[Recipient]:
    """Guardians of this school (an active link to one of its pupils) with an email address,
    whose consent to the chosen marketing purpose (any of them, by default) is granted and
    current (`consent.person_statuses`: not withdrawn, not to an older wording, not lapsed),
    and who have no standing objection to direct marketing. By email address, a batch at a
    time. The objection is checked twice: in the query and by the consent rules."""
    now = now or utcnow()
    purposes = _selected(school_id, purpose_id)
    if not purposes:
        return
    purpose_ids = [p.id for p in purposes]
    linked = exists().where(
        GuardianLink.guardian_id == Guardian.id,
        GuardianLink.school_id == school_id,
        GuardianLink.ended_at.is_(None),
    )
    granted = exists().where(
        CurrentDecision.school_id == school_id,
        CurrentDecision.guardian_id == Guardian.id,
        CurrentDecision.pupil_id.is_(None),
        CurrentDecision.axis == DecisionAxis.ANSWER.value,
        CurrentDecision.decision == Decision.GRANT.value,
        CurrentDecision.purpose_id.in_(purpose_ids),
    )
    last = ""
    while True:
        batch = db.session.execute(
            select(Guardian.id, Guardian.forename, Guardian.surname, Guardian.email)
            .where(
                Guardian.email.is_not(None),
                Guardian.email > last,  # unique: a keyset
                linked,
                granted,
                ~_objects_to_marketing(school_id),
            )
            .order_by(Guardian.email)
            .limit(GUARDIAN_BATCH)
        ).all()
        if not batch:
            return
        found = consent.person_statuses(
            [g.id for g in batch], purposes, school_id=school_id, now=now
        )
        for guardian in batch:
            if any(found[(guardian.id, p)].status == consent.Status.GRANTED for p in purpose_ids):
                name = f"{guardian.forename} {guardian.surname}".strip()
                yield Recipient(name, guardian.email)
        last = batch[-1].email


@dataclass(frozen=True)
class Objector:
    email: str
    since: datetime  # the earliest of their standing objections at this school


def suppression_query(school_id: int) -> Any:
    return (
        select(Guardian.email, func.min(CurrentDecision.decided_at).label("since"))
        .join(Guardian, Guardian.id == CurrentDecision.guardian_id)
        .join(
            Purpose,
            and_(
                Purpose.id == CurrentDecision.purpose_id,
                Purpose.school_id == school_id,
                Purpose.marketing.is_(True),
            ),
        )
        .where(
            CurrentDecision.school_id == school_id,
            CurrentDecision.axis == DecisionAxis.OBJECTION.value,
            CurrentDecision.decision == Decision.OBJECT.value,
            Guardian.email.is_not(None),
        )
        .group_by(Guardian.id, Guardian.email)
    )


def objectors(school_id: int, *, batch: int = 5_000) -> Iterator[Objector]:
    """Everyone with a standing objection to direct marketing at this school (whether or not
    they still have a child there), by email address."""
    query = suppression_query(school_id).order_by(Guardian.email)
    for row in db.session.execute(query.execution_options(yield_per=batch)):
        since = row.since if row.since.tzinfo else row.since.replace(tzinfo=UTC)
        yield Objector(row.email, since)


@dataclass(frozen=True)
class Counts:
    marketing: int
    suppression: int


def counts(school_id: int, *, purpose_id: int | None = None) -> Counts:
    marketing = sum(1 for _ in marketing_recipients(school_id, purpose_id=purpose_id))
    suppression = (
        db.session.scalar(select(func.count()).select_from(suppression_query(school_id).subquery()))
        or 0
    )
    return Counts(marketing, suppression)


def start_marketing_export(staff: StaffUser, purpose_id: int | None) -> None:
    """Check the purpose (NotFound unless one of the school's marketing purposes) and record
    the export with it."""
    purposes = _selected(staff.school_id, purpose_id)
    key = purposes[0].key if purpose_id is not None and purposes else "any"
    _record(staff, MARKETING_ACTION, {"purpose": key})


def start_suppression_export(staff: StaffUser) -> None:
    _record(staff, SUPPRESSION_ACTION, {"list": "everyone who objected"})


def marketing_csv(
    school_id: int, *, purpose_id: int | None = None, now: datetime | None = None
) -> Iterator[bytes]:
    with _snapshot():
        school_name = db.session.scalars(select(School.name).where(School.id == school_id)).one()
        recipients = marketing_recipients(school_id, purpose_id=purpose_id, now=now)
        yield from csv_file(MARKETING_HEADER, ((r.name, r.email, school_name) for r in recipients))


def suppression_csv(school_id: int) -> Iterator[bytes]:
    with _snapshot():
        rows = ((o.email, format_time(o.since)) for o in objectors(school_id))
        yield from csv_file(SUPPRESSION_HEADER, rows)
