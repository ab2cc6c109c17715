"""What a language costs a page: the parent's pages rendered in process, in English and in the
other languages, CPU time per request, medians.

The demo school (its real purposes, with the Polish wording examples/purposes.toml gives) on a
fresh SQLite database; Farah signed in; each page requested WARM times, then ROUNDS times in
turns (English, then each language, then English again, ...) so that a busy moment of a shared
machine falls on every language alike. Reported per page and language: the median CPU time of
one request (time.process_time around the test client's request), and its ratio to English.
A page in another language does the same work with other strings, plus one query where the
school may have written something in that language (its translations of the purposes on a
child's page, of the notice on the notice page) and the "only in English" line where it has
not: the ratio should stay within 1.25; more means the translation machinery itself costs the
page (bench/CHANGES.md, entry 12).

Usage:  .venv/bin/python bench/languages.py [--rounds 200] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LANGUAGES = ["en", "pl", "ur", "ar", "gu", "en-XA"]
WARM = 20
# The ratio to English a page in another language should stay within (one more query).
TARGET = 1.25


def app_with_demo(folder: Path) -> tuple[Any, Any, dict[str, str]]:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from portal import create_app, demo
    from portal.extensions import db
    from portal.models import Pupil
    from tests.support.web import sign_in_as

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "BASE_URL": "http://localhost",
            "MAIL_OUTBOX_DIR": str(folder / "outbox"),
            "PORTAL_PSEUDO_LOCALE": True,
            "SERVER_NAME": None,
        }
    )
    with app.app_context():
        upgrade()
        demo.load()
        db.session.commit()
        amira = db.session.scalars(select(Pupil).where(Pupil.forename == "Amira")).one().id
        client = app.test_client()
        sign_in_as(client, "farah.hussain@example.org")
    pages = {
        "children page": "/family",
        "child page": f"/family/children/{amira}",
        "what you told us": "/family/history",
        "privacy notice": "/schools/riverside-primary/privacy-notice",
    }
    return app, client, pages


def cpu_ms(client: Any, path: str) -> float:
    began = time.process_time()
    response = client.get(path)
    spent = time.process_time() - began
    if response.status_code != 200:
        sys.exit(f"{path} answered {response.status_code}")
    return spent * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        _app, client, pages = app_with_demo(Path(folder))
        samples: dict[tuple[str, str], list[float]] = {}
        for language in LANGUAGES:
            client.set_cookie("lang", language)
            for path in pages.values():
                for _ in range(WARM):
                    cpu_ms(client, path)
        for _ in range(ARGS.rounds):
            for language in LANGUAGES:
                client.set_cookie("lang", language)
                for name, path in pages.items():
                    samples.setdefault((name, language), []).append(cpu_ms(client, path))

    figures: list[dict[str, Any]] = []
    print(f"{'page':<20}" + "".join(f"{language:>14}" for language in LANGUAGES))
    for name in pages:
        english = statistics.median(samples[(name, "en")])
        row = f"{name:<20}"
        for language in LANGUAGES:
            median = statistics.median(samples[(name, language)])
            ratio = median / english
            row += f"{median:>8.2f} ms {ratio:3.2f}"[-14:].rjust(14)
            figures.append(
                {
                    "name": f"{name}, {language}: CPU per request (ratio to English)",
                    "value": round(ratio, 2),
                    "unit": "× English",
                    "target": f"≤ {TARGET}" if language != "en" else None,
                    "ok": ratio <= TARGET if language != "en" else None,
                    "median_ms": round(median, 3),
                }
            )
        print(row)
    print(f"medians of {ARGS.rounds} requests each, CPU ms per request and ratio to English")
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {ARGS.json}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--json", help="write the figures to this file")
    ARGS = parser.parse_args()
    main()
