"""CSV files staff take away: cells a spreadsheet cannot run, streamed a piece at a time
(docs/security.md, promises 18 and 19). The ledger export and the marketing lists write
their files through this module.

- `safe_cell` and `csv_file`: every cell that a spreadsheet could read as a formula (it
  begins with `=`, `+`, `-`, `@`, a tab, a carriage return, a line feed or NUL) is prefixed
  with `'`; rows are written by Python's `csv.writer` (minimal quoting, CRLF line ends), so
  every file reads back through `csv.reader` to the same cells. Files start with a UTF-8
  byte order mark, so that Excel reads names such as "Zoë" correctly (decode with
  "utf-8-sig" to read them back).
- Each file is a generator that reads in one consistent `snapshot` and yields pieces of
  about `CHUNK_BYTES`, so a file of a million rows takes no more memory than one of ten.
- On PostgreSQL a file can be written by the database instead: `copy_statement` compiles a
  SELECT to `COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)`, `safe_sql` makes each cell safe
  in SQL exactly as `safe_cell` does, and `copy_file` streams what COPY writes through
  psycopg's `copy()`, adding the byte order mark and the header and ending records with
  CRLF as `csv.writer` does.

No Flask request state: this is domain plumbing (the web response is
`portal.web.responses.csv_response`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
)

from .extensions import db
from .types import london_date, utcnow

# --- CSV that a spreadsheet cannot run (docs/security.md, promise 18) ----------------------

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
def snapshot() -> Iterator[None]:
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
    today = today or london_date(utcnow())
    return f"{kind}-{school_slug}-{today.isoformat()}.csv"


# --- the same cells written by PostgreSQL (COPY) ------------------------------------------

# DANGEROUS_FIRST as code points for PostgreSQL's ascii() (the code point of the first
# character; 0 for an empty string). NUL cannot occur in PostgreSQL text.
DANGEROUS_CODES = tuple(sorted(ord(c) for c in DANGEROUS_FIRST if c != "\x00"))


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


# For the file's own transaction (it is rolled back at the end): plan the query as the
# stream it is, rows in order from an index as they are made, never a sort of the whole
# result before the first row (which the planner otherwise picks for some schools); no
# parallel workers (they sort too, and compete with this process for the cores); and no
# JIT compilation (its start-up costs more than it saves on a stream).
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


def copy_file(
    header: Sequence[str], statement: str, params: dict[str, Any], *, chunk: int = CHUNK_BYTES
) -> Iterator[bytes]:
    """A CSV file from PostgreSQL's COPY (`copy_statement`), in the caller's snapshot: the
    byte order mark and header, then the rows in pieces of about `chunk` bytes, records
    ending in CRLF. The query runs under STREAM_SETTINGS, which end with the transaction."""
    raw = db.session.connection().connection.driver_connection
    if raw is None:
        raise RuntimeError("no database connection")
    encoding = raw.info.encoding  # the client encoding: what COPY writes in
    first = (BOM + next(csv_lines([header]))).encode("utf-8")
    with raw.cursor() as cursor:
        cursor.execute(STREAM_SETTINGS_SQL)  # SET LOCAL, the three in one round trip
    with raw.cursor() as cursor, cursor.copy(statement, params) as copy:
        # On an early close (the client went away), psycopg cancels the COPY and drains it.
        for block in crlf_blocks(copy, chunk=chunk):
            if encoding != "utf-8":
                block = block.decode(encoding).encode("utf-8")
            if first:
                block, first = first + block, b""
            yield block
    if first:
        yield first  # no rows


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
