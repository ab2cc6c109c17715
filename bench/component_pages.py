"""In-process render cost of the pages the GOV.UK component macros changed: before and after.

Two apps on one SQLite database (migrated, then seeded through the portal's own modules and
the test factories): "before" renders the templates/ of a git revision (`--before`, exported
with `git archive` to a temporary folder), "after" the working tree's templates/. Each is
asked through the Flask test client, signed in as a guardian or a staff user, for:

  child        a parent's child page (GET /family/children/ID): four purposes of a child,
               each a card with its form and buttons
  photo_check  the staff photo check for a class of 30 and two purposes (GET
               /staff/photo-check?purpose=..&purpose=..&class=..&action=check)
  print        its class sheet (GET /staff/photo-check/print?...): a 30-row table

After a warm-up, `--rounds` rounds (default 5) of `--requests` requests (default 200) per page
and way, the ways alternating so that both see the same machine. Each request is timed with
time.perf_counter (wall) and time.process_time (CPU, the whole process: Flask, SQLAlchemy on
SQLite, Jinja); printed: the median per request over every request of every round, and the
range of the rounds' medians.

Usage:  .venv/bin/python bench/component_pages.py --before REV [--rounds 5] [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask, before_render_template, template_rendered  # noqa: E402
from jinja2 import ChoiceLoader, FileSystemLoader  # noqa: E402
from sqlalchemy import select  # noqa: E402

from portal import create_app  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Guardian  # noqa: E402
from tests.support.client import CheckedClient  # noqa: E402
from tests.support.factories import (  # noqa: E402
    make_families,
    make_notice,
    make_purpose_set,
    make_school,
    make_staff,
)
from tests.support.web import sign_in_as  # noqa: E402
from tests.support.world import decide  # noqa: E402

WAYS = ("before", "after")
SAMPLES = ("cpu", "wall", "render_cpu", "render_wall")
PAGES = ("child", "photo_check", "print")
CLASS = "3 Oak"


def config(database_url: str, tmp: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": "http://localhost",
        "MAIL_OUTBOX_DIR": str(tmp / "outbox"),
        "SERVER_NAME": None,
    }


def export_templates(rev: str, into: Path) -> Path:
    """templates/ as it is at `rev`, in a folder of its own."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "templates"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "templates"


def use_templates(app: Flask, folder: Path) -> None:
    """The app's loader with `folder` in place of templates/ (the GOV.UK packages stay)."""
    loader = app.jinja_loader
    assert isinstance(loader, ChoiceLoader)
    loader.loaders = [FileSystemLoader(str(folder)), *loader.loaders[1:]]


class FreshClient(CheckedClient):
    """Each request with its own `g` and database session, as in production, without the
    tests' page checks (they would be timed too)."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return self._open_as_a_fresh_request(*args, **kwargs)


def seed() -> dict[str, Any]:
    """A school with one purpose of every kind and a class of 30, some of them answered."""
    school = make_school()
    make_notice(school)
    purposes = make_purpose_set(school)
    families = {
        f"P{i:02d}": [(f"parent{i:02d}@example.org", True)]
        + ([(f"carer{i:02d}@example.org", True)] if i % 3 == 0 else [])
        for i in range(30)
    }
    pupils = make_families(school, families=families, class_name=CLASS)
    staff = make_staff(school, email="office@oak.example.org")
    guardians = {g.email: g for g in db.session.scalars(select(Guardian))}
    website, paper = purposes["photos-website"], purposes["local-paper"]
    for i in range(30):
        parent = guardians[f"parent{i:02d}@example.org"]
        pupil = pupils[f"P{i:02d}"]
        if i % 5 != 0:
            decide(parent, website, "grant", pupil=pupil)
        if i % 4 == 1:
            decide(parent, paper, "withdraw", pupil=pupil)
        elif i % 2 == 0:
            decide(parent, paper, "grant", pupil=pupil)
    decide(
        guardians["parent01@example.org"], purposes["class-photos"], "object", pupil=pupils["P01"]
    )
    db.session.commit()
    query = f"purpose={website.id}&purpose={paper.id}&class={CLASS.replace(' ', '+')}&action=check"
    return {
        "guardian": "parent01@example.org",
        "staff": staff.email,
        "child": f"/family/children/{pupils['P01'].id}",
        "photo_check": f"/staff/photo-check?{query}",
        "print": f"/staff/photo-check/print?{query}",
    }


class Timer:
    """Per request of one app: the request's CPU and wall time, and the render's (from Flask's
    before_render_template to template_rendered: the page's Jinja, includes and macros)."""

    def __init__(self, app: Flask) -> None:
        self.samples: dict[str, list[float]] = {k: [] for k in SAMPLES}
        self._began = (0.0, 0.0)
        self._render = (0.0, 0.0)
        before_render_template.connect(self._before, app, weak=False)
        template_rendered.connect(self._after, app, weak=False)

    def _before(self, *args: Any, **kwargs: Any) -> None:
        self._began = (time.perf_counter(), time.process_time())

    def _after(self, *args: Any, **kwargs: Any) -> None:
        w, c = time.perf_counter(), time.process_time()
        self._render = (w - self._began[0], c - self._began[1])

    def request(self, get: Callable[[], Any]) -> dict[str, float]:
        self._render = (float("nan"), float("nan"))
        w0, c0 = time.perf_counter(), time.process_time()
        response = get()
        c1, w1 = time.process_time(), time.perf_counter()
        assert response.status_code == 200, response.status_code
        return {
            "cpu": (c1 - c0) * 1e3,
            "wall": (w1 - w0) * 1e3,
            "render_cpu": self._render[1] * 1e3,
            "render_wall": self._render[0] * 1e3,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision of the 'before' templates")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        before_templates = export_templates(args.before, tmp)
        apps = {way: create_app(config(url, tmp)) for way in WAYS}
        use_templates(apps["before"], before_templates)
        with apps["after"].app_context():
            from flask_migrate import upgrade

            upgrade(directory=str(ROOT / "migrations"))
            paths = seed()
            db.session.remove()

        clients: dict[str, dict[str, Any]] = {}
        for way, app in apps.items():
            with app.app_context():
                parent, office = FreshClient(app), FreshClient(app)
                sign_in_as(parent, paths["guardian"])
                sign_in_as(office, paths["staff"], home="/staff")
                db.session.remove()
            clients[way] = {"child": parent, "photo_check": office, "print": office}

        timers = {way: Timer(app) for way, app in apps.items()}
        # page -> way -> sample -> values; and each round's median render CPU
        results: dict[str, dict[str, dict[str, list[float]]]] = {
            page: {way: {k: [] for k in (*SAMPLES, "round_render_cpu")} for way in WAYS}
            for page in PAGES
        }
        for page in PAGES:
            gets = {way: partial(clients[way][page].get, paths[page]) for way in WAYS}
            for _ in range(args.warmup):
                for way in WAYS:
                    timers[way].request(gets[way])
            for _ in range(args.rounds):
                this_round: dict[str, list[float]] = {way: [] for way in WAYS}
                for i in range(args.requests):
                    # one request each way in turn, the first way alternating
                    for way in WAYS if i % 2 == 0 else WAYS[::-1]:
                        sample = timers[way].request(gets[way])
                        for k, v in sample.items():
                            results[page][way][k].append(v)
                        this_round[way].append(sample["render_cpu"])
                for way in WAYS:
                    results[page][way]["round_render_cpu"].append(
                        statistics.median(this_round[way])
                    )

    print(
        f"In-process page cost, before ({args.before}) and after (working tree); "
        f"{args.rounds} x {args.requests} requests per page and way; "
        f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    print(
        "| page | way | request CPU ms | request wall ms | render CPU ms"
        " | render CPU ms, rounds' medians | render wall ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for page in PAGES:
        medians = {}
        for way in WAYS:
            t = results[page][way]
            m = {k: statistics.median(t[k]) for k in SAMPLES}
            medians[way] = m
            rounds = t["round_render_cpu"]
            print(
                f"| {page} | {way} | {m['cpu']:.2f} | {m['wall']:.2f} | {m['render_cpu']:.3f} | "
                f"{min(rounds):.3f}–{max(rounds):.3f} | {m['render_wall']:.3f} |"
            )
        b, a = medians["before"], medians["after"]
        print(
            f"| {page} | after − before | {a['cpu'] - b['cpu']:+.2f} | "
            f"{a['wall'] - b['wall']:+.2f} | {a['render_cpu'] - b['render_cpu']:+.3f} "
            f"({(a['render_cpu'] - b['render_cpu']) / b['render_cpu']:+.1%}) | | "
            f"{a['render_wall'] - b['render_wall']:+.3f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
