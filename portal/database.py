"""Database connection behaviour that the models rely on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVarTuple

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TypedReturnsRows

from .extensions import db


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside the writer.
    # Leave transaction control to SQLAlchemy's "BEGIN" (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()


SQLITE_BEGIN_OPTION = "portal_sqlite_begin"


def _sqlite_begin(connection: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN and ignores SAVEPOINT semantics;
    # emitting BEGIN ourselves makes transactions behave as SQLAlchemy documents. A
    # transaction that will write the ledger asks for BEGIN IMMEDIATE (the write lock up
    # front) through the execution option, so it waits its turn instead of failing later.
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


PENDING_CHANGES = "this write must own its transaction: commit pending changes first"


def has_pending_changes(session: Session) -> bool:
    """Whether the session holds changes not yet flushed to a transaction of its own."""
    return bool(session.new or session.dirty or session.deleted)


def begin_write(session: Session) -> None:
    """Start a fresh transaction that will write, after any reads that decided what to write.

    On SQLite a transaction that has read and then writes cannot wait for another writer: it
    fails at once with "database is locked". So a read-only transaction in progress is ended
    (objects keep their values: expire_on_commit is off) and, on SQLite, the write lock is
    taken up front (BEGIN IMMEDIATE), so that concurrent writers wait their turn. Pending
    changes would be committed outside the caller's transaction, so they are refused.
    """
    if has_pending_changes(session):
        raise RuntimeError(PENDING_CHANGES)
    if session.in_transaction():
        session.commit()
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})


@contextmanager
def writing() -> Iterator[Session]:
    """One write transaction: `with writing() as session:` begins it (`begin_write`), commits
    when the block ends, and rolls back if anything in the block raises (then re-raises).
    Domain functions own their transactions through this block; views never commit."""
    session = db.session()
    begin_write(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


_Columns = TypeVarTuple("_Columns")


def read(
    statement: TypedReturnsRows[*_Columns], params: dict[str, Any] | None = None
) -> CursorResult[*_Columns]:
    """The rows of a statement that selects columns only (no entities), sent through the
    session's connection (the request's reading one, or the write transaction's) by Core's
    own execute. The session's execute would take it through the ORM's: setting up its
    context, flushing and wrapping the result, about 50 µs a statement, for the same rows.
    The session's pending changes are not flushed first: use it for reads that need none."""
    return db.session.connection().execute(statement, params)


# The execution option that marks a request's reading connection: `_refuse_writes` lets only
# reads through it.
READING = "portal_reading"


def _begin_reading() -> None:
    """Every request starts by reading, without a transaction of its own: its connection is
    in autocommit, so psycopg sends no BEGIN and no COMMIT (two round trips fewer a page, and
    two fewer before a POST's write), and each statement sees the database as it is when that
    statement runs. Nothing may be written on that connection: every statement sent on it
    must be a read (`_refuse_writes`), checked before it leaves the process. What writes
    calls begin_write (`writing`), whose transaction is on a connection of its own, so a
    POST's writes are still all or nothing."""
    session = db.session()
    if not session.in_transaction():
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT", READING: True})
        else:  # SQLite (development, tests): its own transaction, refused writes all the same
            session.connection(execution_options={READING: True})


# What a reading request may send: a SELECT (or a WITH that only selects), SHOW, VALUES, and
# transaction control (SQLite's BEGIN).
_READ = re.compile(
    r"\s*\(*\s*(?:SELECT|SHOW|VALUES|WITH|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b",
    re.IGNORECASE,
)
_WRITE = re.compile(
    r"\b(?:INSERT|UPDATE|DELETE|MERGE|TRUNCATE|CREATE|DROP|ALTER|GRANT|REVOKE|COPY|LOCK|"
    r"CALL|DO|SET|NEXTVAL|SETVAL|FOR\s+(?:NO\s+KEY\s+)?UPDATE|FOR\s+(?:KEY\s+)?SHARE)\b",
    re.IGNORECASE,
)


# Each statement's verdict, once: SQLAlchemy compiles a statement to the same text every
# time, so a page's few statements are read with the regular expressions only once.
_VERDICTS: dict[str, bool] = {}
_MAX_VERDICTS = 4096


def _is_read(statement: str) -> bool:
    verdict = _VERDICTS.get(statement)
    if verdict is None:
        verdict = bool(_READ.match(statement)) and not _WRITE.search(statement)
        if len(_VERDICTS) < _MAX_VERDICTS:
            _VERDICTS[statement] = verdict
    return verdict


class WriteInARead(RuntimeError):
    """A reading request (GET, HEAD, OPTIONS) tried to write outside begin_write."""


def _refuse_writes(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    """Refuse, before it is sent, anything but a read on a reading request's connection: the
    guarantee PostgreSQL's READ ONLY transactions gave, kept without their round trips."""
    if conn.get_execution_options().get(READING) and not _is_read(statement):
        raise WriteInARead(
            "a reading request (GET) may not write; write in a POST, or through "
            f"begin_write: {statement[:80]!r}"
        )


def init_app(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
    # First of the before-request functions, so that nothing reads before it.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_reading)
    event.listen(engine, "before_cursor_execute", _refuse_writes)
