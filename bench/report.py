"""Assemble bench/RESULTS.md from the benchmarks' JSON files (what `make bench` runs last).

Each benchmark script, run with `--json bench/out/NAME.json`, writes a list of figures:
{"name", "value", "unit", "target", "ok"} plus any raw numbers (ignored here). This writes the
date, the machine (cores, memory, CPU model), the versions of what was measured, then one
table per script: figure, value, target, met or not. A script whose JSON is missing is listed
as "not run"; `make bench` records each step's exit status and time in bench/out/steps.tsv,
so a script that failed is listed as failed, with its log. bench/CHANGES.md (hand-written:
what profiling found, what changed, the figures before and after) is copied to the end.

Usage:  .venv/bin/python bench/report.py [--out bench/out] [--output bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/consent_bench"
CHANGES = ROOT / "bench" / "CHANGES.md"

# The order `make bench` runs them in, and what each measures.
SCRIPTS = [
    ("verify", "bench/verify.py", "`flask ledger verify` over the seeded trust"),
    ("export", "bench/export.py", "Streamed CSV exports over the seeded trust"),
    # Not bench/http.py: a script's folder comes first on sys.path, and a bench/http.py would
    # shadow the standard library's `http` (which werkzeug imports) in every bench script.
    ("http_load", "bench/http_load.py", "Requests per second and latency under gunicorn (wrk)"),
    ("invites", "bench/invites.py", "An invitation batch through the outbox"),
    (
        "pageweight",
        "bench/pageweight.py",
        "Bytes a phone downloads on the parent journey, compressed as a proxy would send them",
    ),
    ("lighthouse", "bench/lighthouse.py", "Lighthouse on its mobile preset, on the parent pages"),
    (
        "roster",
        "bench/roster.py",
        "Roster import: 5,000 rows previewed and imported over HTTP, 50,000 by the command",
    ),
    (
        "todo",
        "bench/todo.py",
        "The staff home page (Things to do, then the dashboard) on a trust of 100 schools",
    ),
    (
        "retention",
        "bench/retention.py",
        "The retention run over a trust of 100 schools with a share of pupils who left long ago",
    ),
    (
        "languages",
        "bench/languages.py",
        "The parent's pages in English and in other languages: CPU per request, ratio to English",
    ),
    (
        "ledger",
        "bench/ledger.py",
        "One school's chain of 1,000,000 events: append latency, verify throughput and memory",
    ),
]


# --- the machine and the versions ------------------------------------------------------------


def read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine() -> list[tuple[str, str]]:
    meminfo = re.search(r"^MemTotal:\s+(\d+) kB", read("/proc/meminfo"), re.MULTILINE)
    model = re.search(r"^model name\s*:\s*(.+)$", read("/proc/cpuinfo"), re.MULTILINE)
    memory = f"{int(meminfo.group(1)) / 1024 / 1024:.1f} GiB" if meminfo else "unknown"
    return [
        ("CPU", model.group(1).strip() if model else platform.processor() or "unknown"),
        ("cores", str(os.cpu_count())),
        ("memory", memory),
        ("system", f"{platform.system()} {platform.release()} ({platform.machine()})"),
    ]


def run(command: list[str]) -> str:
    """The first line a command prints (stdout, else stderr), or "" when it cannot run."""
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        return ""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    for text in (done.stdout, done.stderr):
        if text.strip():
            return text.strip().splitlines()[0].strip()
    return ""


def package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def database_name() -> str:
    """BENCH_DATABASE_URL without any password."""
    from sqlalchemy.engine import make_url

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: name no part of it
        return "BENCH_DATABASE_URL"


def postgresql() -> str:
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        parsed = make_url(url.replace("postgres://", "postgresql://", 1))
        with psycopg.connect(
            host=parsed.host, port=parsed.port or 5432, user=parsed.username,
            password=parsed.password, dbname="postgres", connect_timeout=5,
        ) as conn:  # fmt: skip
            row = conn.execute("SHOW server_version").fetchone()
        return f"{row[0]} (server at {parsed.host}:{parsed.port or 5432})" if row else "unknown"
    except Exception as error:  # any failure only means the version is unknown
        return f"unavailable ({type(error).__name__})"


def lighthouse() -> str:
    try:
        data = json.loads(
            (ROOT / "bench" / "node_modules" / "lighthouse" / "package.json").read_text()
        )
    except (OSError, ValueError):
        return "not installed (npm ci --prefix bench)"
    return str(data.get("version", "unknown"))


def wrk() -> str:
    for candidate in (str(ROOT / "bench" / "wrk" / "wrk"), "wrk"):
        line = run([candidate, "--version"])
        if line:
            return line.split(" Copyright")[0].removeprefix("wrk ").strip()
    return "not installed"


def versions() -> list[tuple[str, str]]:
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    return [
        ("Python", f"{platform.python_version()} ({sys.implementation.name})"),
        ("PostgreSQL server", postgresql()),
        ("Chromium", run([chrome, "--version"]) or f"not found at {chrome}"),
        ("Lighthouse", lighthouse()),
        ("Node.js", run(["node", "--version"]) or "not found"),
        ("gunicorn", package("gunicorn")),
        ("wrk", wrk()),
        ("Flask", package("Flask")),
        ("SQLAlchemy", package("SQLAlchemy")),
        ("psycopg", package("psycopg")),
    ]


# --- the figures -----------------------------------------------------------------------------


MISSING = -1  # `make bench` found no such script


def steps(out: Path) -> dict[str, tuple[int, float]]:
    """bench/out/steps.tsv from `make bench`: name, exit status (or "missing"), seconds."""
    found: dict[str, tuple[int, float]] = {}
    for line in read(str(out / "steps.tsv")).splitlines():
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        try:
            status = MISSING if parts[1] == "missing" else int(parts[1])
            found[parts[0]] = (status, float(parts[2]))
        except ValueError:
            continue
    return found


def figures_of(path: Path) -> list[dict[str, Any]] | str:
    """The figures of one JSON file, or why there are none."""
    try:
        data = json.loads(path.read_text())
    except OSError:
        return "not run"
    except ValueError as error:
        return f"unreadable JSON ({error})"
    if isinstance(data, dict):  # be lenient: {"figures": [...]} or {"results": [...]}
        data = data.get("figures", data.get("results", []))
    if not isinstance(data, list):
        return "unreadable JSON (not a list of figures)"
    return [f for f in data if isinstance(f, dict) and "name" in f]


def number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == int(value) and abs(value) >= 100:
            return f"{int(value):,}"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def value_cell(figure: dict[str, Any]) -> str:
    unit = figure.get("unit") or ""
    value = number(figure.get("value"))
    return f"{value} {unit}".strip() if value != "—" else value


def target_cell(figure: dict[str, Any]) -> str:
    target = figure.get("target")
    if target is None or target == "":
        return "—"
    if isinstance(target, int | float) and not isinstance(target, bool):
        return f"{number(target)} {figure.get('unit') or ''}".strip()
    return str(target)


def met_cell(figure: dict[str, Any]) -> str:
    ok = figure.get("ok")
    if ok is None:
        return "—"
    return "met" if ok else "**not met**"


def section(name: str, script: str, about: str, out: Path, step: tuple[int, float] | None) -> str:
    lines = [f"## {script}", "", about + ".", ""]
    figures = figures_of(out / f"{name}.json")
    log = f"bench/out/{name}.log"
    if step is not None and step[0] == MISSING:
        return "\n".join([*lines, f"*Not run: {script} does not exist.*", ""])
    if step is not None:
        status, seconds = step
        if status == 0:
            lines.append(f"Ran in {seconds:,.0f} s (output: `{log}`).")
        else:
            lines.append(
                f"**Failed** (exit status {status}) after {seconds:,.0f} s: `make bench` stopped "
                f"here; see `{log}`."
            )
        lines.append("")
    if isinstance(figures, str):
        if step is not None and step[0] != 0 and figures == "not run":
            figures = "no figures (the script failed before writing them)"
        lines += [f"*{figures}.*" if not figures.startswith("unreadable") else figures, ""]
        return "\n".join(lines)
    if not figures:
        return "\n".join([*lines, "*The script wrote no figures.*", ""])
    lines += ["| figure | value | target | met |", "|---|---:|---|---|"]
    for figure in figures:
        lines.append(
            f"| {cell(str(figure['name']))} | {cell(value_cell(figure))} | "
            f"{cell(target_cell(figure))} | {met_cell(figure)} |"
        )
    return "\n".join([*lines, ""])


def report(out: Path) -> str:
    ran = steps(out)
    now = datetime.now().astimezone()
    counts = {"met": 0, "not met": 0}
    not_run: list[str] = []
    for name, script, _about in SCRIPTS:
        figures = figures_of(out / f"{name}.json")
        if isinstance(figures, str):
            not_run.append(script)
            continue
        for figure in figures:
            if figure.get("ok") is True:
                counts["met"] += 1
            elif figure.get("ok") is False:
                counts["not met"] += 1
    failed = [f"{n} (exit {s})" for n, (s, _t) in ran.items() if s not in (0, MISSING)]

    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (bench/report.py) on {now:%Y-%m-%d %H:%M %Z}. Figures on a "
        "shared or busy machine are noisy: compare runs on the same machine.",
        "",
        f"**Summary:** {counts['met']} targets met, {counts['not met']} not met"
        + (f"; not run: {', '.join(not_run)}" if not_run else "")
        + (f"; failed: {', '.join(failed)}" if failed else "")
        + ".",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {cell(v)} |" for k, v in machine()],
        "",
        "## Versions",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {cell(v)} |" for k, v in versions()],
        "",
    ]
    if "seed" in ran:
        status, seconds = ran["seed"]
        said = [
            line.strip()
            for line in read(str(out / "seed.log")).splitlines()
            if line.strip() and not line.startswith(("INFO", "seeding "))  # not the URL
        ]
        lines += [
            "## bench/seed.py",
            "",
            f"Seeded the trust the scripts below measure into `{database_name()}`: "
            + (f"done in {seconds:,.0f} s" if status == 0 else f"**failed** (exit {status})")
            + " (output: `bench/out/seed.log`).",
            "",
            *[f"- {cell(line)}" for line in said[-6:]],
        ]
        if said:
            lines.append("")
    for name, script, about in SCRIPTS:
        lines.append(section(name, script, about, out, ran.get(name)))
    changes = read(str(CHANGES)).strip()
    if changes:
        # Hand-written: what profiling found and what changed, with the figures before and
        # after, kept in bench/CHANGES.md so each run's report carries the history.
        lines += ["", "## Before and after (bench/CHANGES.md)", "", demote(changes)]
    return "\n".join(lines).rstrip() + "\n"


def demote(markdown: str) -> str:
    """bench/CHANGES.md's headings, two levels down, under this report's own heading; its
    own title line is dropped."""
    out = []
    for line in markdown.splitlines():
        if line.startswith("# "):
            continue
        out.append("##" + line if line.startswith("#") else line)
    return "\n".join(out).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"), help="the JSON folder")
    parser.add_argument("--output", default=str(ROOT / "bench" / "RESULTS.md"))
    args = parser.parse_args()
    text = report(Path(args.out))
    Path(args.output).write_text(text)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
