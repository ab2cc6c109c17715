"""What follows a decision is wired by the application factory, not by importing a view.

A decision recorded from a command or a worker (an app context, no request, no blueprint)
must have the same consequences as one made on a page: the take-down task for a withdrawn
publishable consent, and the guardian's receipt in the outbox. The check runs in a fresh
interpreter in which no view module can be imported at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from portal import create_app, takedowns
from portal.mail import render

PROJECT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, json, sys

    VIEWS = ("portal.auth", "portal.parent", "portal.public", "portal.staff")
    # A view package or a module in one (portal.staff_users is a domain module).
    INSIDE = tuple(v + "." for v in VIEWS)

    class NoViews(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name in VIEWS or name.startswith(INSIDE):
                raise ImportError(f"{name} is a view module: not importable in this check")
            return None

    sys.meta_path.insert(0, NoViews())

    import portal.wiring
    portal.wiring._register_blueprints = lambda app: None  # a worker: no pages at all

    from sqlalchemy import func, select
    from portal import create_app, choices
    from portal.extensions import db
    from portal.models import OutboxMessage, TakedownTask
    from tests.conftest import base_config
    from tests.support.world import build_school, OAK_FAMILIES

    app = create_app(base_config(sys.argv[1], __import__("pathlib").Path(sys.argv[2])))
    with app.app_context():
        oak = build_school("oak-primary", "Oak Primary School", OAK_FAMILIES, "office@oak.example")
        pupil = oak.pupils["C"]
        photos = oak.purposes["photos-website"]
        from portal.models import Guardian
        eve = db.session.scalars(select(Guardian).where(Guardian.email == "eve@example.org")).one()
        choices.decide(eve.id, [pupil.id], photos.id, "grant")
        choices.decide(eve.id, [pupil.id], photos.id, "withdraw")
        tasks = db.session.scalar(select(func.count()).select_from(TakedownTask))
        receipts = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.template == "receipt")
        )
        views = sorted(m for m in sys.modules if m in VIEWS or m.startswith(INSIDE))
    print(json.dumps({"tasks": tasks, "receipts": receipts, "views": views}))
    """
)


def test_a_decision_outside_any_page_makes_its_take_down_and_receipt(database_url, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, database_url, str(tmp_path)],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["views"] == []
    assert found["tasks"] == 1
    assert found["receipts"] >= 1


def test_each_app_holds_its_own_wiring(database_url, tmp_path):
    """Two apps built by the factory each have the subscribers and email kinds; a registry on
    the app, not in a module, so building one app never changes another."""
    from tests.conftest import base_config

    apps = [create_app(base_config(database_url, tmp_path)) for _ in range(2)]
    for app in apps:
        with app.app_context():
            assert takedowns.on_append in app.extensions["portal.ledger.subscribers"]
            assert {"sign_in", "receipt", "takedown", "invitation"} <= set(
                app.extensions["portal.mail.kinds"]
            )
            assert render.merger("receipt") is not None
            assert render.merger("sign_in") is None
