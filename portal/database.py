"""Database connection behaviour that the models rely on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, request
from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

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


# Requests that only read: GET, HEAD and OPTIONS (a view that must write calls begin_write,
# which starts a transaction of its own).
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _begin_reading() -> None:
    """A reading request's transaction begins READ ONLY (psycopg sends "BEGIN READ ONLY":
    no extra round trip), so PostgreSQL itself refuses any write in it."""
    session = db.session()
    if request.method in READING_METHODS and not session.in_transaction():
        session.connection(execution_options={"postgresql_readonly": True})


def _end_reading(exc: BaseException | None) -> None:
    """End a reading request's read-only transaction with COMMIT, not the ROLLBACK that
    closing the session would send: psycopg forgets every prepared statement of a
    connection when it rolls back, so with a rollback at the end of every request the
    queries that each page sends again and again would never be prepared (psycopg prepares
    a query the fifth time a connection sends it) and PostgreSQL would parse and plan each
    of them every time. Committing a READ ONLY transaction can change nothing. Anything
    else (a failed request, a transaction that is not read-only, one in error) is left to
    the session's usual rollback."""
    session = db.session()
    if exc is not None or not session.in_transaction():
        return
    driver: Any = session.connection().connection.driver_connection  # psycopg's
    if driver.read_only and driver.info.transaction_status == TransactionStatus.INTRANS:
        session.commit()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
    elif engine.dialect.name == "postgresql":
        # First of the before-request functions, so that nothing reads before it. The
        # teardown runs before Flask-SQLAlchemy's (an app-context teardown) closes the
        # session.
        app.before_request_funcs.setdefault(None, []).insert(0, _begin_reading)
        app.teardown_request(_end_reading)
