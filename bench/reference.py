"""The reference page of bench/http_load.py: what a minimal real page costs on this machine.

`GET /family` as a minimal signed-in page would answer it, served by the very same app
server settings as the portal and bench/hello.py. Flask's signed session cookie, as the
portal sets it (`__Host-session` when PORTAL_ENV=production, else `session`; signed with
SECRET_KEY), holds the raw session token under `_user_id`; one SQLAlchemy Core query finds
the open session row by the token's SHA-256 (portal/signin's `hash_token`), giving the
guardian; one more reads at most five of the guardian's children (pupils through
guardian_links, with the school's name); a Jinja template renders a page of about
REFERENCE_PAGE_BYTES bytes (default 6000; bench/http_load.py sets it to the size of the
portal's children page), the children's rows repeated to make up the size. A psycopg engine
with the portal's pool (5, overflow 5), no pre-ping, in autocommit as the portal's reading
requests are: two statements, two round trips, no BEGIN or COMMIT (and no ROLLBACK, which
would make psycopg forget its prepared statements). No session written, no CSRF token, no
login extension, no security headers. Without an open session: a redirect to sign in.

    DATABASE_URL=postgresql+psycopg://... SECRET_KEY=... REFERENCE_PAGE_BYTES=6000 \\
        .venv/bin/gunicorn -c gunicorn.conf.py bench.reference:app
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

from flask import Flask, redirect, render_template, session
from jinja2 import DictLoader
from sqlalchemy import bindparam, column, create_engine, func, select, table
from sqlalchemy.sql.expression import ColumnClause
from werkzeug.wrappers import Response

app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"].strip()
production = os.environ.get("PORTAL_ENV", "").strip().lower() == "production"
app.config["SESSION_COOKIE_NAME"] = "__Host-session" if production else "session"
engine = create_engine(
    re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", os.environ["DATABASE_URL"]),
    pool_size=5,
    max_overflow=5,
    isolation_level="AUTOCOMMIT",
)


def cols(names: str) -> list[ColumnClause[Any]]:
    return [column(name) for name in names.split()]


sessions = table("user_sessions", *cols("token_hash guardian_id expires_at ended_at"))
links = table("guardian_links", *cols("guardian_id pupil_id parental_responsibility ended_at"))
pupils = table("pupils", *cols("id school_id forename surname class_name on_roll"))
schools = table("schools", *cols("id name"))
SESSION = select(sessions.c.guardian_id).where(
    sessions.c.token_hash == bindparam("token_hash"),
    sessions.c.ended_at.is_(None),
    sessions.c.expires_at > func.now(),
)
CHILDREN = (
    select(pupils.c.id, pupils.c.forename, pupils.c.surname, pupils.c.class_name, schools.c.name)
    .join_from(links, pupils, pupils.c.id == links.c.pupil_id)
    .join(schools, schools.c.id == pupils.c.school_id)
    .where(
        links.c.guardian_id == bindparam("guardian_id"),
        links.c.parental_responsibility.is_(True),
        links.c.ended_at.is_(None),
        pupils.c.on_roll.is_(True),
    )
    .order_by(pupils.c.surname, pupils.c.forename, pupils.c.id)
    .limit(5)
)

PAGE = """<!DOCTYPE html>
<html lang="en-GB" class="govuk-template"><head><meta charset="utf-8">
  <title>Your children – {{ school }} – School consent portal</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="/static/dist/portal.css"></head>
<body class="govuk-template__body">
  <header class="portal-header"><div class="govuk-width-container">
    <a class="portal-header__name" href="/family"><bdi>{{ school }}</bdi></a>
    <span class="portal-header__service">Privacy and consent</span></div></header>
  <div class="govuk-width-container"><main class="govuk-main-wrapper" id="main-content">
  <h1 class="govuk-heading-l">Your children</h1><h2 class="govuk-heading-m"><bdi>{{ school }}</bdi></h2>
  <ul class="govuk-list portal-children">
  {% for c in rows %}<li class="portal-child">
    <h3 class="govuk-heading-s govuk-!-margin-bottom-1"><bdi>{{ c.forename }} {{ c.surname }}</bdi></h3>
    <p class="govuk-body-s govuk-!-margin-bottom-2">Class <bdi>{{ c.class_name }}</bdi></p>
    <p class="govuk-body"><strong class="govuk-tag govuk-tag--green">All answered</strong></p>
    <a class="govuk-link" href="/family/children/{{ c.id }}">See or change <bdi>{{ c.forename }}</bdi>'s choices</a>
  </li>{% endfor %}
  </ul></main></div>
  <footer class="govuk-footer"><p class="govuk-body-s">Saying no, or not answering, never affects your child's education.</p></footer>
  <script src="/static/dist/htmx.min.js"></script>
</body></html>"""  # noqa: E501
app.jinja_loader = DictLoader({"family.html": PAGE})


def rows_for(size: int) -> int:
    """How many rows make a page of about `size` bytes (measured with a typical row)."""
    row = {"id": 1234, "forename": "Amelia", "surname": "Thompson", "class_name": "3 A"}
    with app.app_context():
        empty, ten = (
            len(render_template("family.html", school="School 001", rows=[row] * n).encode())
            for n in (0, 10)
        )
    return max(1, round((size - empty) / ((ten - empty) / 10)))


ROWS = rows_for(int(os.environ.get("REFERENCE_PAGE_BYTES", "6000")))


@app.get("/family")
def family() -> str | Response:
    token = session.get("_user_id")
    if not isinstance(token, str):
        return redirect("/sign-in?next=/family")
    with engine.connect() as conn:
        token_hash = hashlib.sha256(token.encode("utf-8")).hexdigest()
        guardian_id = conn.execute(SESSION, {"token_hash": token_hash}).scalar()
        if guardian_id is None:
            return redirect("/sign-in?next=/family")
        children: list[Any] = list(conn.execute(CHILDREN, {"guardian_id": guardian_id}))
    rows = [children[i % len(children)] for i in range(ROWS)] if children else []
    school = children[0].name if children else ""
    return render_template("family.html", school=school, rows=rows)
