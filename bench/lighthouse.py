"""Lighthouse on the parent pages, on its mobile preset: the sign-in page, the children page and
a child's page (signed in).

Serves the portal with gunicorn on a free local port, on a fresh SQLite database with the demo
data (`flask demo`), signs in as the demo parent Farah Hussain by the emailed link (derived
as the email would carry it, as tests/parent/__init__.py does) and passes the session cookie
to Lighthouse as an extra header. Lighthouse (npm `lighthouse`, pinned in bench/package.json,
installed with `npm ci --prefix bench`) drives Debian's Chromium headless, offline against
localhost, with its default mobile settings (a phone's screen, simulated slow 4G and a 4x
slower CPU). Prints each category's score and LCP, TBT and CLS; the full reports go to
bench/out/lighthouse-*.json.

Targets: performance >= 0.95, accessibility 1.0, best practices >= 0.95.

Usage:  .venv/bin/python bench/lighthouse.py [--json bench/out/lighthouse.json] [--runs 3]
Environment: CHROME_PATH (default /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import importlib.util
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
LIGHTHOUSE = BENCH / "node_modules" / ".bin" / "lighthouse"
SECRET = "bench-lighthouse-" * 3
CATEGORIES = ("performance", "accessibility", "best-practices")
TARGETS = {"performance": 0.95, "accessibility": 1.0, "best-practices": 0.95}
METRICS = {
    "largest-contentful-paint": ("LCP", "ms"),
    "total-blocking-time": ("TBT", "ms"),
    "cumulative-layout-shift": ("CLS", ""),
    "first-contentful-paint": ("FCP", "ms"),
    "speed-index": ("Speed Index", "ms"),
}
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage"


def pageweight() -> Any:
    """bench/pageweight.py, for its demo database and sign-in link."""
    spec = importlib.util.spec_from_file_location("bench_pageweight", BENCH / "pageweight.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(base: str, server: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped (exit {server.returncode}) before serving")
        try:
            with urllib.request.urlopen(base + "/sign-in", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on {base} within {seconds:.0f} s")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def session_cookie(base: str, link: str) -> str:
    """Open the sign-in link, press Continue, and return the Cookie header that results."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    with opener.open(base + link) as response:
        page = response.read().decode("utf-8")
    token = PAGEWEIGHT.csrf_token(page)
    body = urllib.parse.urlencode({"csrf_token": token}).encode("ascii")
    try:
        opener.open(urllib.request.Request(base + link, data=body, method="POST"))
    except urllib.error.HTTPError as error:  # the 302 to /family, not followed
        if error.code != 302 or error.headers.get("Location") != "/family":
            raise SystemExit(f"signing in failed: {error.code} {error.headers}") from error
    else:
        raise SystemExit("signing in did not redirect to /family")
    return "; ".join(f"{c.name}={c.value}" for c in jar)


# Lighthouse's message when recording the page load went wrong on its side.
RUN_AGAIN = "Please run Lighthouse again"
ATTEMPTS = 3


def lighthouse(url: str, name: str, cookie: str | None, run: int) -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    report = OUT / f"lighthouse-{name}{'' if run == 0 else f'-{run + 1}'}.json"
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
        "--quiet",
    ]
    if cookie:
        command.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    for attempt in range(1, ATTEMPTS + 1):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode == 0 and report.exists():
            break
        # Lighthouse's own word for a trace it failed to record (NO_NAVSTART and the like)
        # on a busy machine: nothing about the page; it asks to be run again, and is.
        if RUN_AGAIN not in done.stderr or attempt == ATTEMPTS:
            raise SystemExit(f"lighthouse failed on {url}:\n{done.stderr[-3000:]}")
        print(f"  {name}: Lighthouse asked to be run again ({attempt} of {ATTEMPTS}): "
              f"{done.stderr.strip().splitlines()[-1][:200]}", flush=True)  # fmt: skip
    lhr: dict[str, Any] = json.loads(report.read_text())
    if lhr.get("runtimeError"):
        raise SystemExit(f"lighthouse could not load {url}: {lhr['runtimeError']}")
    if lhr.get("finalDisplayedUrl") != url:  # e.g. sent to /sign-in: the cookie did not work
        raise SystemExit(f"lighthouse asked for {url} but ended on {lhr.get('finalDisplayedUrl')}")
    return lhr


def lighthouse_version() -> str:
    try:
        return str(
            json.loads((LIGHTHOUSE.parent.parent / "lighthouse" / "package.json").read_text())[
                "version"
            ]
        )
    except (OSError, ValueError, KeyError):
        return "?"


def summarise(lhr: dict[str, Any]) -> dict[str, Any]:
    categories = {k: lhr["categories"][k]["score"] for k in CATEGORIES}
    metrics = {k: lhr["audits"][k].get("numericValue") for k in METRICS}
    failing: dict[str, list[str]] = {}
    for key in CATEGORIES:
        for ref in lhr["categories"][key]["auditRefs"]:
            audit = lhr["audits"][ref["id"]]
            score = audit.get("score")
            if ref.get("weight", 0) > 0 and score is not None and score < 1:
                failing.setdefault(key, []).append(f"{audit['id']} ({score:.2f}): {audit['title']}")
            elif key != "performance" and audit.get("scoreDisplayMode") == "binary" and score == 0:
                failing.setdefault(key, []).append(f"{audit['id']}: {audit['title']}")
    opportunities = [
        f"{a['id']}: {a['title']}"
        + (
            f" (saves ~{a['details']['overallSavingsMs']:.0f} ms)"
            if a.get("details", {}).get("overallSavingsMs")
            else ""
        )
        for a in lhr["audits"].values()
        if a.get("details", {}).get("type") == "opportunity"
        and a.get("score") is not None
        and a["score"] < 1
    ]
    return {
        "categories": categories,
        "metrics": metrics,
        "failing": failing,
        "opportunities": opportunities,
        "lighthouse": lhr.get("lighthouseVersion"),
        "user_agent": lhr.get("environment", {}).get("hostUserAgent"),
        "form_factor": lhr.get("configSettings", {}).get("formFactor"),
        "throttling": lhr.get("configSettings", {}).get("throttlingMethod"),
    }


def median_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each score and metric over the runs (one run: itself)."""
    merged = dict(runs[-1])
    merged["categories"] = {
        k: statistics.median(r["categories"][k] for r in runs if r["categories"][k] is not None)
        for k in CATEGORIES
    }
    merged["metrics"] = {
        k: statistics.median(r["metrics"][k] for r in runs if r["metrics"][k] is not None)
        for k in METRICS
    }
    merged["runs"] = [{"categories": r["categories"], "metrics": r["metrics"]} for r in runs]
    return merged


def main() -> None:
    if not LIGHTHOUSE.exists():
        raise SystemExit(f"{LIGHTHOUSE} is missing: run `npm ci --prefix bench` first")
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    if not Path(chrome).exists():
        raise SystemExit(f"Chromium is not at {chrome} (apt-get install chromium, or CHROME_PATH)")
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if gunicorn is None:
        raise SystemExit("gunicorn is not installed beside this Python (make install)")

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-lighthouse-") as tmp:
        folder = Path(tmp)
        app = PAGEWEIGHT.demo_app(folder, SECRET)
        with app.app_context():
            from sqlalchemy import select

            from portal.extensions import db
            from portal.models import Pupil

            amira = db.session.scalars(select(Pupil).where(Pupil.forename == "Amira")).one().id
            db.session.remove()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "PORTAL_ENV": "development",
            "DATABASE_URL": f"sqlite:///{folder / 'portal.sqlite3'}",
            "SECRET_KEY": SECRET,
            "BASE_URL": base,
        }
        server = subprocess.Popen(
            [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
             "--worker-class", "gthread", "--log-level", "warning", "app:app"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        try:
            wait_until_up(base, server)
            cookie = session_cookie(base, PAGEWEIGHT.sign_in_link(app))
            pages = [
                ("sign-in", "/sign-in", None),
                ("children", "/family", cookie),
                ("child", f"/family/children/{amira}", cookie),
            ]
            print(
                f"Lighthouse {lighthouse_version()} on {base} (gunicorn, no compression in front: "
                "in production the proxy compresses, so these are the harder case)"
            )
            for name, path, with_cookie in pages:
                runs = [
                    summarise(lighthouse(base + path, name, with_cookie, run))
                    for run in range(ARGS.runs)
                ]
                results[name] = {"path": path, **median_summary(runs)}
                print_page(name, path, results[name])
        finally:
            server.terminate()
            server.wait(timeout=30)

    if ARGS.json:
        write_json(Path(ARGS.json), results)


def print_page(name: str, path: str, result: dict[str, Any]) -> None:
    scores = ", ".join(
        f"{k} {v:.2f} ({'met' if v >= TARGETS[k] else 'NOT MET'}: target {TARGETS[k]})"
        for k, v in result["categories"].items()
    )
    metrics = result["metrics"]
    print(f"{name} ({path}): {scores}")
    print(
        f"  LCP {metrics['largest-contentful-paint']:.0f} ms, TBT "
        f"{metrics['total-blocking-time']:.0f} ms, CLS {metrics['cumulative-layout-shift']:.3f}"
        f" (FCP {metrics['first-contentful-paint']:.0f} ms, Speed Index "
        f"{metrics['speed-index']:.0f} ms; {result['form_factor']}, "
        f"{result['throttling']} throttling)"
    )
    for key, problems in result["failing"].items():
        for problem in problems:
            print(f"  {key}: {problem}")
    for opportunity in result["opportunities"]:
        print(f"  opportunity: {opportunity}")


def write_json(path: Path, results: dict[str, dict[str, Any]]) -> None:
    figures: list[dict[str, Any]] = []
    for name, result in results.items():
        for key in CATEGORIES:
            score = result["categories"][key]
            target = TARGETS[key]
            figures.append(
                {
                    "name": f"{name} page ({result['path']}): {key}",
                    "value": score,
                    "unit": "",
                    "target": f"{'=' if target == 1 else '≥'} {target}",
                    "ok": score >= target,
                    "runs": [r["categories"][key] for r in result["runs"]],
                    "failing_audits": result["failing"].get(key, []),
                    "opportunities": result["opportunities"] if key == "performance" else [],
                    "lighthouse": result["lighthouse"],
                    "form_factor": result["form_factor"],
                    "throttling": result["throttling"],
                    "user_agent": result["user_agent"],
                }
            )
        for key in ("largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift"):
            label, unit = METRICS[key]
            value = result["metrics"][key]
            figures.append(
                {
                    "name": f"{name} page ({result['path']}): {label}",
                    "value": round(value, 3) if key == "cumulative-layout-shift" else round(value),
                    "unit": unit,
                    "target": None,
                    "ok": None,
                    "runs": [r["metrics"][key] for r in result["runs"]],
                }
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {path}")


PAGEWEIGHT = pageweight()

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write the figures to PATH as JSON")
    parser.add_argument("--runs", type=int, default=3, help="runs per page (the median is kept)")
    ARGS = parser.parse_args()
    main()
