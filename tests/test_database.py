"""Reading requests (portal/database.py): on PostgreSQL they read without a transaction of
their own (autocommit: no BEGIN, no COMMIT), and on every database the portal refuses, before
it is sent, any statement of theirs that is not a read; psycopg keeps the statements it has
prepared from one request to the next. A GET that must write (a session's "last seen",
tests/auth/test_sessions.py) does so in a transaction of its own, begin_write's."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, Flask, Response
from sqlalchemy import select, text

from portal.database import WriteInARead, begin_write
from portal.extensions import db
from portal.models import School
from tests.support.client import csrf_token
from tests.support.factories import make_notice, make_school


def _plain(value: Any) -> Response:
    return Response(str(value), mimetype="text/plain")


def _probed(make_app: Any, **overrides: Any) -> Flask:
    """The portal with a few routes that report on the request's own transaction."""
    app: Flask = make_app(**overrides)
    probe = Blueprint("probe", __name__)

    @probe.route("/probe/in-transaction", methods=["GET", "POST"])
    def in_transaction() -> Response:
        db.session.execute(text("SELECT 1"))
        driver: Any = db.session.connection().connection.driver_connection
        return _plain(driver.info.transaction_status.name)

    @probe.post("/probe/begin-write")
    def begin_writing() -> Response:
        begin_write(db.session())
        db.session.execute(text("SELECT 1"))
        driver: Any = db.session.connection().connection.driver_connection
        status = driver.info.transaction_status.name
        db.session.rollback()
        return _plain(status)

    @probe.get("/probe/write")
    def write() -> Response:
        db.session.execute(text(app.config["STATEMENT"]))
        db.session.commit()
        return _plain("written")

    @probe.get("/probe/read")
    def read() -> Response:
        return _plain(
            db.session.scalar(text("SELECT name FROM schools WHERE slug = 'oak-primary'"))
        )

    @probe.get("/probe/prepared")
    def prepared() -> Response:
        return _plain(
            db.session.execute(
                text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :like"),
                {"like": "%FROM notice_versions%"},
            ).scalar()
        )

    app.register_blueprint(probe)
    with app.app_context():
        make_notice(make_school())
        db.session.remove()
    return app


@pytest.mark.postgres
def test_requests_read_outside_a_transaction_and_write_inside_one(make_app):
    app = _probed(make_app)
    client = app.test_client()
    assert client.get("/probe/in-transaction").get_data(as_text=True) == "IDLE"
    token = csrf_token(client.get("/sign-in"))  # the session's token, as a browser sends it
    # A POST reads outside a transaction too, until it writes through begin_write.
    answer = client.post("/probe/in-transaction", data={"csrf_token": token})
    assert answer.get_data(as_text=True) == "IDLE"
    writing = client.post("/probe/begin-write", data={"csrf_token": token})
    assert writing.get_data(as_text=True) == "INTRANS"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE schools SET name = 'Renamed'",
        "  update schools set name = 'Renamed'",
        "WITH x AS (UPDATE schools SET name = 'Renamed' RETURNING id) SELECT * FROM x",
        "SELECT id FROM schools FOR UPDATE",
        "DELETE FROM notice_versions",
        "INSERT INTO bank_holidays (day, name) VALUES ('2030-01-01', 'x')",
    ],
)
def test_a_get_cannot_write(make_app, statement):
    app = _probed(make_app, STATEMENT=statement)
    with pytest.raises(WriteInARead, match="a reading request"):
        app.test_client().get("/probe/write")
    with app.app_context():
        assert db.session.scalar(select(School.name)) == "Oak Primary School"


def test_a_get_reads_as_before(make_app):
    app = _probed(make_app)
    answer = app.test_client().get("/probe/read")
    assert answer.get_data(as_text=True) == "Oak Primary School"


@pytest.mark.postgres
def test_statements_stay_prepared_from_one_reading_request_to_the_next(make_app):
    # psycopg prepares a statement the fifth time a connection runs it; a ROLLBACK at the
    # end of each request would make it forget them all, so none would ever stay prepared.
    app = _probed(make_app)
    client = app.test_client()
    for _ in range(6):
        assert client.get("/schools/oak-primary/privacy-notice").status_code == 200
    assert int(client.get("/probe/prepared").get_data(as_text=True)) >= 1
