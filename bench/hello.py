"""The ceiling of bench/http_load.py: a bare Flask app with one GET route answering "hello".

Served by the very same gunicorn settings as the portal (gunicorn.conf.py), or with
`--server granian` by granian with the equivalent ones, it shows what this machine, the app
server and Flask can do with no database, no templates and no sessions; each portal page's
requests/s is reported as a fraction of it (and of bench/reference.py's minimal real page).

    .venv/bin/gunicorn -c gunicorn.conf.py bench.hello:app
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
