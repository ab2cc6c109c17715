"""The raw token and code are in no table, no log line and no error page, and the nonce they are
derived from is kept only until the email is written (docs/security.md, promises 3 and 4)."""

from __future__ import annotations

import logging
import re
import threading
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from portal import signin
from portal.extensions import db
from portal.mail.delivery import send_pending
from portal.models import SignInRequest
from portal.types import utcnow
from portal.web.security import RedactSignInLinks
from tests.support.client import csrf_token
from tests.support.mail import (
    ask_for_link,
    fresh,
    sign_in_code,
    sign_in_path,
    sign_in_requests,
    sign_in_with_email,
)

# The test's own SMTP server logs every line it receives at DEBUG (the whole email). It stands
# for the mail provider, which is not the portal: its records are left out of the checks.
SMTP_SERVER_LOGGER = "mail.log"


def every_cell():
    """(table, column, value) for every column of every row of every table."""
    fresh()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for column, value in row.items():
                yield table.name, column, value


def _contains_code(value, code):
    """A code hidden in text: as a number of its own (not inside a hex digest or a time)."""
    if value is None or isinstance(value, (int, float, bool, datetime, date)):
        return False
    return re.search(rf"(?<![0-9a-fA-F]){code}(?![0-9a-fA-F])", str(value)) is not None


def test_no_table_holds_the_token_or_the_code(smtp_app, smtp_client, smtp_server, family):
    ask_for_link(smtp_client, family.email)
    (received,) = smtp_server.wait_for(1)
    token = sign_in_path(received).rsplit("/", 1)[1]
    code = sign_in_code(received)

    def check(stage):
        cells = list(every_cell())
        tables = {table for table, _column, _value in cells}
        assert {"sign_in_requests", "outbox"} <= tables
        for table, column, value in cells:
            assert token not in str(value), f"{stage}: the token is in {table}.{column}"
            assert not _contains_code(value, code), f"{stage}: the code is in {table}.{column}"

    check("after the email was sent")
    sign_in_with_email(smtp_client, received)
    check("after signing in")
    assert token not in str(smtp_client.get_cookie(smtp_app.config["SESSION_COOKIE_NAME"]).value)


def test_no_log_line_holds_the_token_or_the_code(
    smtp_app, smtp_client, smtp_server, family, caplog
):
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy keeps its own loggers at WARNING unless told otherwise.
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    ask_for_link(smtp_client, family.email)
    (received,) = smtp_server.wait_for(1)
    token = sign_in_path(received).rsplit("/", 1)[1]
    code = sign_in_code(received)
    path = sign_in_path(received)
    smtp_client.head(path)
    sign_in_with_email(smtp_client, received)
    smtp_client.get(path)  # already used
    page = smtp_client.get("/family")
    smtp_client.post("/sign-out", data={"csrf_token": csrf_token(page)})

    records = [r for r in caplog.records if not r.name.startswith(SMTP_SERVER_LOGGER)]
    # At DEBUG the database driver logs every statement with its parameters, so a token
    # that were stored, or looked up as it is, would show here.
    assert any(r.name.startswith("sqlalchemy.engine") for r in records)
    for record in records:
        line = record.getMessage()
        assert token not in line, f"the token is in a log line of {record.name}: {line}"
        assert not _contains_code(line, code), f"the code is in a log line of {record.name}"


def _access_log_record(request_line):
    # What werkzeug's request handler logs for each request.
    return logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '127.0.0.1 - - [01/Sep/2025 08:00:00] "%s" %s %s',
        (request_line, "200", "-"),
        None,
    )


def test_the_access_log_filter_redacts_a_sign_in_link():
    token = "q0Vx3mB9-uyAqFz_kz3kq1JxVn0cK0mKxQ2m0bW4pZs"
    record = _access_log_record(f"GET /sign-in/link/{token} HTTP/1.1")
    assert RedactSignInLinks().filter(record) is True
    line = record.getMessage()
    assert token not in line
    assert '"GET /sign-in/link/[redacted] HTTP/1.1" 200 -' in line

    # gunicorn passes its atoms as a mapping; the message itself may hold the path too.
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, '%(h)s "%(r)s" %(s)s', None, None
    )
    record.args = {"h": "127.0.0.1", "r": f"POST /sign-in/link/{token} HTTP/1.1", "s": 302}
    RedactSignInLinks().filter(record)
    assert token not in record.getMessage()
    record = logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, f"opened /sign-in/link/{token}?utm=x", None, None
    )
    RedactSignInLinks().filter(record)
    assert record.getMessage() == "opened /sign-in/link/[redacted]?utm=x"


def test_a_real_server_logs_a_sign_in_link_redacted(smtp_app, family, caplog):
    caplog.set_level(logging.INFO)
    signin.request_link(family.email)
    row = db.session.scalars(select(SignInRequest)).one()
    token = signin.derive_token(row.nonce)

    server = make_server("127.0.0.1", 0, smtp_app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/sign-in/link/{token}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            assert "Continue to sign in" in response.read().decode()
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()

    access = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/sign-in/link/[redacted]" in line for line in access), access
    assert not any(token in line for line in access)


def test_an_error_while_using_a_link_logs_no_token(make_app, family, caplog, monkeypatch):
    app = make_app(PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        signin.request_link(family.email)
        row = db.session.scalars(select(SignInRequest)).one()
        token = signin.derive_token(row.nonce)

    def broken(token, *, now=None):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(signin, "use_link", broken)
    client = app.test_client()
    page = client.get(f"/sign-in/link/{token}")
    caplog.set_level(logging.DEBUG)
    response = client.post(f"/sign-in/link/{token}", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 500
    assert "Sorry, there is a problem" in response.text
    assert token not in response.text
    logged = [r for r in caplog.records if r.exc_info]
    assert logged, "the error was not logged"
    for record in caplog.records:
        assert token not in record.getMessage()
    assert token not in caplog.text  # with the tracebacks
    assert any("/sign-in/link/[redacted]" in r.getMessage() for r in logged)


@pytest.mark.parametrize("stage", ["continue page", "problem page", "csrf failure"])
def test_no_page_shows_the_token_beyond_its_own_form(smtp_app, smtp_client, family, stage):
    signin.request_link(family.email)
    row = db.session.scalars(select(SignInRequest)).one()
    token = signin.derive_token(row.nonce)
    path = f"/sign-in/link/{token}"
    if stage == "continue page":
        text = smtp_client.get(path).text
        # Only in the form that posts back to the link itself.
        assert text.count(token) == 1
        assert f'action="{path}"' in text
    elif stage == "problem page":
        page = smtp_client.get(path)
        smtp_client.post(path, data={"csrf_token": csrf_token(page)})
        text = smtp_client.get(path).text
        assert "already been used" in text
        assert token not in text
    else:
        response = smtp_client.post(path, data={"csrf_token": "forged"})
        assert response.status_code == 400
        assert "Your form has expired" in response.text
        assert token not in response.text


# --- the nonce lives only until the email is written (promise 3) ------------------------------


def _nonce(public_id=None):
    fresh()
    query = select(SignInRequest.nonce)
    if public_id is not None:
        query = query.where(SignInRequest.public_id == public_id)
    return db.session.scalars(query.order_by(SignInRequest.id.desc())).first()


def test_the_nonce_is_erased_once_the_email_is_written(smtp_app, smtp_server, family):
    """With the nonce and SECRET_KEY one could rebuild the link: the row keeps it only until the
    email is written, and the link and the code in the email still work."""
    by_code, by_link = smtp_app.test_client(), smtp_app.test_client()
    ask_for_link(by_code, family.email)
    (first,) = smtp_server.wait_for(1)
    assert _nonce() is None, "the nonce is kept after the email was written"
    page = by_code.get("/sign-in/check-your-email")
    response = by_code.post(
        "/sign-in/code", data={"code": sign_in_code(first), "csrf_token": csrf_token(page)}
    )
    assert response.headers["Location"] == "/family"

    ask_for_link(by_link, family.email)
    second = smtp_server.wait_for(2)[1]
    assert _nonce() is None
    assert sign_in_with_email(by_link, second).headers["Location"] == "/family"
    assert all(row.nonce is None for row in sign_in_requests())


def test_the_nonce_is_erased_when_a_request_is_used_superseded_or_expires(smtp_app, family):
    """Before its email is written (the mail server is slow, or a script asked), a request
    still holds its nonce; using it, superseding it or letting it expire erases it."""
    used = signin.request_link(family.email)
    token = signin.derive_token(_nonce(used.public_id))
    signin.use_link(token)
    assert _nonce(used.public_id) is None

    older = signin.request_link(family.email)
    newer = signin.request_link(family.email)
    assert _nonce(older.public_id) is None
    assert _nonce(newer.public_id) is not None

    expired = signin.request_link(family.email, now=utcnow() - timedelta(minutes=16))
    assert _nonce(expired.public_id) is not None
    result = send_pending()  # the worker finds it expired: no email, and no nonce either
    assert result.sent == 0
    assert _nonce(expired.public_id) is None
    assert all(row.nonce is None for row in sign_in_requests())
