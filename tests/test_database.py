"""Reading requests on PostgreSQL (portal/database.py): their transaction begins READ ONLY
and ends with COMMIT, so PostgreSQL refuses a write in them and psycopg keeps the statements
it has prepared (it forgets them all on a rollback). A GET that must write (a session's
"last seen", tests/auth/test_sessions.py) does so in a transaction of its own, begin_write's."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Blueprint, Flask, Response
from sqlalchemy import select, text

from portal.extensions import db
from portal.models import School
from tests.support.client import csrf_token
from tests.support.factories import make_notice, make_school

pytestmark = pytest.mark.postgres


def _plain(value: Any) -> Response:
    return Response(str(value), mimetype="text/plain")


def _probed(make_app: Any, **overrides: Any) -> Flask:
    """The portal with a few routes that report on the request's own transaction."""
    app: Flask = make_app(**overrides)
    probe = Blueprint("probe", __name__)

    @probe.route("/probe/read-only", methods=["GET", "POST"])
    def read_only() -> Response:
        return _plain(db.session.execute(text("SHOW transaction_read_only")).scalar())

    @probe.get("/probe/rename")
    def rename() -> Response:
        db.session.execute(text("UPDATE schools SET name = 'Renamed'"))
        return _plain("renamed")

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


def test_a_get_reads_in_a_read_only_transaction_and_a_post_does_not(make_app):
    app = _probed(make_app)
    client = app.test_client()
    assert client.get("/probe/read-only").get_data(as_text=True) == "on"
    token = csrf_token(client.get("/sign-in"))  # the session's token, as a browser sends it
    answer = client.post("/probe/read-only", data={"csrf_token": token})
    assert answer.get_data(as_text=True) == "off"


def test_postgresql_refuses_a_write_in_a_get(make_app):
    app = _probed(make_app)
    with pytest.raises(Exception, match="read-only transaction"):
        app.test_client().get("/probe/rename")
    with app.app_context():
        assert db.session.scalar(select(School.name)) == "Oak Primary School"


def test_statements_stay_prepared_from_one_reading_request_to_the_next(make_app):
    # psycopg prepares a statement the fifth time a connection runs it; a ROLLBACK at the
    # end of each request would make it forget them all, so none would ever stay prepared.
    app = _probed(make_app)
    client = app.test_client()
    for _ in range(6):
        assert client.get("/schools/oak-primary/privacy-notice").status_code == 200
    assert int(client.get("/probe/prepared").get_data(as_text=True)) >= 1
