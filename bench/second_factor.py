"""What the staff second factor costs: staff pages rendered in process with the second factor
required and with it switched off (STAFF_SECOND_FACTOR), CPU time per request, medians; and
what checking a code or a recovery code costs.

Two apps on one fresh SQLite database with the demo school: one requires the second factor
(the session has passed it: the check is a read of two columns the session query already
returns), one does not. Each page is requested WARM times, then ROUNDS times in turns (one
app, then the other), so that a busy moment of a shared machine falls on both alike. The
ratio of the two should stay within noise (1.05): more means the check itself costs the page.
The code checks are measured twice each, each on a new sign-in (a code is accepted once,
within a window of one step either side of now).

Usage:  .venv/bin/python bench/second_factor.py [--rounds 200] [--json PATH]
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

WARM = 20
TARGET = 1.05
PAGES = {
    "dashboard": "/staff",
    "photo check": "/staff/photo-check",
    "pupils": "/staff/pupils",
    "your second factor": "/staff/account/security",
}


def make(folder: Path, required: bool) -> Any:
    from portal import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "BASE_URL": "http://localhost",
            "MAIL_OUTBOX_DIR": str(folder / "outbox"),
            "SERVER_NAME": None,
            "STAFF_SECOND_FACTOR": required,
            "RATELIMIT_ENABLED": False,
        }
    )


def cpu_ms(client: Any, path: str, *, expect: int = 200, **post: Any) -> float:
    began = time.process_time()
    response = client.post(path, data=post) if post else client.get(path)
    spent = time.process_time() - began
    if response.status_code != expect:
        sys.exit(f"{path} answered {response.status_code}, not {expect}")
    return spent * 1000


def main() -> None:
    import pyotp
    from flask_migrate import upgrade
    from sqlalchemy import select

    from portal import demo, second_factor
    from portal.extensions import db
    from portal.models import Role, StaffUser
    from tests.support.client import csrf_token
    from tests.support.web import sign_in_as

    admin_email = demo.STAFF[Role.ADMIN][0]
    with tempfile.TemporaryDirectory() as folder:
        required, off = make(Path(folder), True), make(Path(folder), False)
        with required.app_context():
            upgrade()
            demo.load()
            db.session.commit()
            admin = db.session.scalars(
                select(StaffUser).where(StaffUser.email == admin_email)
            ).one()
            set_up = second_factor.totp.start_set_up(admin)
            # Confirmed with the code of the step before now: the steps now and now + 1 are
            # then still unused, for the code checks measured below.
            confirmed = int(time.time()) // 30 - 1
            second_factor.totp.confirm_set_up(admin, pyotp.TOTP(set_up.secret).at(confirmed * 30))
            codes = second_factor.recovery.make_now(admin)
        clients = {}
        for name, app in (("required", required), ("off", off)):
            with app.app_context():
                clients[name] = app.test_client()
                sign_in_as(clients[name], admin_email, home="/staff")

        samples: dict[tuple[str, str], list[float]] = {}
        for client in clients.values():
            for path in PAGES.values():
                for _ in range(WARM):
                    cpu_ms(client, path)
        for _ in range(ARGS.rounds):
            for name, client in clients.items():
                for page, path in PAGES.items():
                    samples.setdefault((page, name), []).append(cpu_ms(client, path))

        # An app code and a recovery code, each on a new sign-in that has not passed yet. A
        # code is accepted once, and only for a later time step than the last: the steps
        # after the one that confirmed the set-up, within the window, give the samples.
        checks: dict[str, list[float]] = {"app code": [], "recovery code": []}
        for step in (confirmed + 1, confirmed + 2):
            # Signing in needs the app context (the link comes from the database); the
            # requests run outside it, as a browser's would (Flask-WTF keeps the CSRF token
            # of the context's first request in `g`).
            by_app, by_code = required.test_client(), required.test_client()
            for client in (by_app, by_code):
                with required.app_context():
                    sign_in_as(client, admin_email, home="/staff", second_factor=False)
            token = csrf_token(by_app.get("/staff/second-factor"))
            code = pyotp.TOTP(set_up.secret).at(step * 30)
            checks["app code"].append(
                cpu_ms(by_app, "/staff/second-factor/app", expect=302, code=code, csrf_token=token)
            )
            token = csrf_token(by_code.get("/staff/second-factor/recovery-code"))
            checks["recovery code"].append(
                cpu_ms(
                    by_code,
                    "/staff/second-factor/recovery-code",
                    expect=302,
                    code=codes.pop(),
                    csrf_token=token,
                )
            )

    figures: list[dict[str, Any]] = []
    print(f"{'page':<22}{'required':>12}{'off':>12}{'ratio':>8}")
    for page in PAGES:
        on = statistics.median(samples[(page, "required")])
        plain = statistics.median(samples[(page, "off")])
        ratio = on / plain
        print(f"{page:<22}{on:>9.2f} ms{plain:>9.2f} ms{ratio:>8.2f}")
        figures.append(
            {
                "name": f"staff {page}: CPU per request, second factor required ÷ off",
                "value": round(ratio, 2),
                "unit": "×",
                "target": f"≤ {TARGET}",
                "ok": ratio <= TARGET,
                "median_ms": round(on, 3),
            }
        )
    for name, values in checks.items():
        if values:
            print(f"checking {name:<13}{statistics.median(values):>9.2f} ms "
                  f"(median of {len(values)})")  # fmt: skip
    print(f"medians of {ARGS.rounds} requests each, CPU ms per request")
    if ARGS.json:
        Path(ARGS.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {ARGS.json}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--json", help="write the figures to this file")
    ARGS = parser.parse_args()
    main()
