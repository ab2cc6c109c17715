"""Database connection behaviour that the models rely on."""

from __future__ import annotations

from typing import Any

from flask import Flask
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


def begin_write(session: Session) -> None:
    """Start a fresh transaction that will write, after any reads that decided what to write.

    On SQLite a transaction that has read and then writes cannot wait for another writer: it
    fails at once with "database is locked". So a read-only transaction in progress is ended
    (objects keep their values: expire_on_commit is off) and, on SQLite, the write lock is
    taken up front (BEGIN IMMEDIATE), so that concurrent writers wait their turn. Pending
    changes would be committed outside the caller's transaction, so they are refused.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("this write must own its transaction: commit pending changes first")
    if session.in_transaction():
        session.commit()
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})


def init_app(app: Flask) -> None:
    with app.app_context():
        engine: Engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
