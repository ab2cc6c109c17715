"""Jinja render cost of GOV.UK components three ways: govuk-frontend-jinja's macros, our own
small macros, and hand-written inline HTML (what templates/ does today).

Three page bodies, each rendered every way from the same data:

  buttons  6 submit buttons: 3 POST forms (one per purpose, as on a parent's child page),
           each with a Yes (primary) and a No (secondary) button with a visually hidden
           suffix, like templates/parent/_partials/card.html
  table    30 rows x 5 columns: the photo check's class sheet for a class of 30
           (templates/staff/photo_check/print.html: child, class, 2 purposes, the answer)
  errors   an error summary with 3 errors (templates/_partials/error_summary.html)

The ways (templates in bench/components/):

  inline   hand-written markup, copied from today's templates          (*_inline.html)
  own      our own macros in bench/components/_components.html         (*_own.html)
  macros   govuk-frontend-jinja 4.1.0's govukButton, govukTable and
           govukErrorSummary, params built in the template              (*_macros.html)
  macros-view  (table only) govukTable with its params built in Python, as a view would;
           the building is timed with the render                        (table_macros_view.html)

The Jinja environment is set up as portal/__init__.py `_configure_templates` and Flask set it
up: a ChoiceLoader of a FileSystemLoader (here bench/components/) and a PrefixLoader with
`govuk_frontend_jinja` on its package; trim_blocks and lstrip_blocks; autoescape for .html
as Flask's `select_jinja_autoescape`; auto_reload off as in production (`--auto-reload` for
the development setting, where every `{% from %}` stats its file).

Each (page, way) is warmed up, then rendered in `--rounds` rounds (default 7) of up to
`--renders` renders (default 2,000; fewer when a batch would take longer than
`--batch-seconds`, so that the run stays under a minute); the ways' order is rotated per
round. Timed with time.perf_counter (wall) and time.process_time (CPU); printed: the median
per render over the rounds (and the rounds' min-max), the ratios of the medians, and the
output's size in bytes. The outputs are then compared as markup: parsed, whitespace
normalised, classes compared as sets, and the elements (tag and attributes) and text nodes
compared in order; every difference is printed.

Usage:  .venv/bin/python bench/components.py [--rounds 7] [--renders 2000] [--json FILE]
"""

from __future__ import annotations

import argparse
import difflib
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "components"

WAYS = ("inline", "own", "macros", "macros-view")
WAY_LABEL = {
    "inline": "inline HTML (today)",
    "own": "own macros",
    "macros": "govuk-frontend-jinja",
    "macros-view": "govuk-frontend-jinja, params from the view",
}
RATIOS = (("macros", "own"), ("macros", "inline"), ("own", "inline"), ("macros-view", "own"))
PAGES = ("buttons", "table", "errors")
PAGE_LABEL = {
    "buttons": "(a) 6 buttons, 3 forms",
    "table": "(b) table 30 x 5",
    "errors": "(c) error summary, 3 errors",
}


# --- the environment -----------------------------------------------------------------------


def flask_autoescape(filename: str | None) -> bool:
    """Flask's `select_jinja_autoescape`."""
    if filename is None:
        return True
    return filename.endswith((".html", ".htm", ".xml", ".xhtml", ".svg"))


def make_env(auto_reload: bool = False) -> Environment:
    return Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(str(TEMPLATES)),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=flask_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=auto_reload,
    )


# --- the data ------------------------------------------------------------------------------

FORENAMES = ["Amira", "Ben", "Chloé", "Dylan", "Ella", "Finn", "Grace", "Hamza", "Isla", "Jack"]
SURNAMES = ["Hussain", "O'Neill", "Smith", "Kowalski", "Nguyen", "Okafor"]
REASONS = ["Parent said no", "Not answered", "Parent objected", "Court order <restricted>"]


def buttons_data() -> dict[str, Any]:
    titles = [
        "Photos on the school website",
        "Class photos on display",
        "Name & photo in the newsletter",
    ]
    purposes = [
        {"id": 40 + i, "title": title, "action": f"/family/children/7/purposes/{40 + i}"}
        for i, title in enumerate(titles)
    ]
    return {"purposes": purposes, "csrf_token": "IjQ5ZWQ0YzE2ZjM4ZTk2NzE5Zjg4YmM1".ljust(88, "x")}


def table_data() -> dict[str, Any]:
    purposes = [
        {"id": 40, "title": "Photos on the school website"},
        {"id": 41, "title": "Class photos on display"},
    ]
    children = []
    for i in range(30):
        marks = []
        for j in range(len(purposes)):
            permits = (i * 7 + j * 3) % 5 != 0
            marks.append({"permits": permits, "reason": None if permits else REASONS[(i + j) % 4]})
        children.append(
            {
                "name": f"{FORENAMES[i % 10]} {SURNAMES[i % 6]}",
                "class_name": "3B",
                "marks": marks,
                "may_appear": all(m["permits"] for m in marks),
            }
        )
    return {"result": {"purposes": purposes, "children": children}}


def errors_data() -> dict[str, Any]:
    return {
        "errors": [
            {"field": "purpose", "message": "Choose what the photo will be used for"},
            {"field": "class", "message": "Choose a class, a year group or children by name"},
            {"field": "q", "message": 'Enter at least 2 letters of a name, like "Am" or O\'N'},
        ]
    }


def table_params(result: dict[str, Any]) -> dict[str, Any]:
    """govukTable's params for the class sheet, as a view would build them."""
    no = "portal-print-mark portal-print-mark--no"
    head = [{"text": "Child"}, {"text": "Class"}]
    head += [{"text": p["title"]} for p in result["purposes"]]
    head.append({"text": "In the photo?"})
    rows = []
    for child in result["children"]:
        cells = [{"text": child["name"]}, {"text": child["class_name"]}]
        for mark in child["marks"]:
            if mark["permits"]:
                cells.append({"text": "✓ Yes", "classes": "portal-print-mark"})
            else:
                cells.append({"text": f"✗ NO — {mark['reason']}", "classes": no})
        may = child["may_appear"]
        cells.append(
            {"text": "✓ Yes" if may else "✗ NO", "classes": "portal-print-mark" if may else no}
        )
        rows.append(cells)
    return {
        "caption": "May each child appear in a photo?",
        "captionClasses": "govuk-table__caption--m govuk-visually-hidden",
        "classes": "portal-print-sheet__table",
        "firstCellIsHeader": True,
        "head": head,
        "rows": rows,
    }


def renderers(env: Environment) -> dict[str, dict[str, Callable[[], str]]]:
    """page -> way -> a callable that renders it once."""
    data = {"buttons": buttons_data(), "table": table_data(), "errors": errors_data()}
    out: dict[str, dict[str, Callable[[], str]]] = {}
    for page in PAGES:
        out[page] = {}
        for way in ("inline", "own", "macros"):
            template = env.get_template(f"{page}_{way}.html")
            out[page][way] = partial(template.render, data[page])
    view = env.get_template("table_macros_view.html")
    result = data["table"]["result"]
    out["table"]["macros-view"] = lambda: view.render(table=table_params(result))
    return out


# --- timing --------------------------------------------------------------------------------


@dataclass
class Timing:
    renders: int = 0
    wall_us: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall_us)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_us)


def batch(render: Callable[[], str], n: int) -> tuple[float, float]:
    """Render n times: wall and CPU microseconds per render."""
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        render()
    w1, c1 = time.perf_counter(), time.process_time()
    return (w1 - w0) / n * 1e6, (c1 - c0) / n * 1e6


def measure(
    fns: dict[str, dict[str, Callable[[], str]]],
    rounds: int,
    renders: int,
    warmup: int,
    batch_seconds: float,
) -> dict[str, dict[str, Timing]]:
    cases = [(page, way) for page in PAGES for way in WAYS if way in fns[page]]
    timings: dict[str, dict[str, Timing]] = {page: {} for page in PAGES}
    for page, way in cases:
        est, _ = batch(fns[page][way], warmup)
        n = max(20, min(renders, int(batch_seconds / (est / 1e6))))
        timings[page][way] = Timing(renders=n)
    for r in range(rounds):
        shift = r % len(cases)
        for page, way in cases[shift:] + cases[:shift]:
            t = timings[page][way]
            wall, cpu = batch(fns[page][way], t.renders)
            t.wall_us.append(wall)
            t.cpu_us.append(cpu)
    return timings


# --- markup comparison ---------------------------------------------------------------------


class Markup(HTMLParser):
    """Elements (tag, attributes; class as a sorted set) and non-blank text nodes, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        self.texts: list[str] = []
        self.classes: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        norm = []
        for name, value in attrs:
            value = " ".join((value or "").split())
            if name == "class":
                tokens = value.split()
                self.classes.update(tokens)
                value = " ".join(sorted(tokens))
            norm.append((name, value))
        self.elements.append((tag, tuple(sorted(norm))))

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text:
            self.texts.append(text)


def parse(html: str) -> Markup:
    parser = Markup()
    parser.feed(html)
    parser.close()
    return parser


def show(element: tuple[str, tuple[tuple[str, str], ...]]) -> str:
    tag, attrs = element
    return "<" + " ".join([tag, *(f'{k}="{v}"' for k, v in attrs)]) + ">"


def differences(ref: str, other: str, ref_name: str, other_name: str, limit: int = 8) -> list[str]:
    """What differs between two outputs as markup; empty when equivalent."""
    a, b = parse(ref), parse(other)
    out: list[str] = []
    tags_a = Counter(tag for tag, _ in a.elements)
    tags_b = Counter(tag for tag, _ in b.elements)
    if tags_a != tags_b:
        only_a = tags_a - tags_b
        only_b = tags_b - tags_a
        out.append(
            f"tags: only in {ref_name}: {dict(only_a) or '-'}; "
            f"only in {other_name}: {dict(only_b) or '-'}"
        )
    if set(a.classes) != set(b.classes):
        out.append(
            f"classes: only in {ref_name}: {sorted(set(a.classes) - set(b.classes)) or '-'}; "
            f"only in {other_name}: {sorted(set(b.classes) - set(a.classes)) or '-'}"
        )
    elif a.classes != b.classes:
        out.append(
            f"class counts: more in {ref_name}: {dict(a.classes - b.classes) or '-'}; "
            f"more in {other_name}: {dict(b.classes - a.classes) or '-'}"
        )
    if a.elements != b.elements:
        lines = [
            line
            for line in difflib.unified_diff(
                [show(e) for e in a.elements],
                [show(e) for e in b.elements],
                ref_name,
                other_name,
                n=0,
                lineterm="",
            )
            if line[:1] in "+-" and not line.startswith(("---", "+++"))
        ]
        out.append(f"elements: {len(lines)} differing lines (- {ref_name}, + {other_name}):")
        out += ["  " + line for line in lines[:limit]]
        if len(lines) > limit:
            out.append(f"  ... {len(lines) - limit} more")
    if a.texts != b.texts:
        lines = [
            line
            for line in difflib.unified_diff(
                a.texts, b.texts, ref_name, other_name, n=0, lineterm=""
            )
            if line[:1] in "+-" and not line.startswith(("---", "+++"))
        ]
        out.append(f"text: {len(lines)} differing lines (- {ref_name}, + {other_name}):")
        out += ["  " + line for line in lines[:limit]]
    return out


# --- report --------------------------------------------------------------------------------


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def ratios(timings: dict[str, Timing], a: str, b: str) -> tuple[float, float] | None:
    """Ratios of the medians a/b: wall, CPU; None when a page lacks a way."""
    if a not in timings or b not in timings:
        return None
    ta, tb = timings[a], timings[b]
    return ratio(ta.wall_median, tb.wall_median), ratio(ta.cpu_median, tb.cpu_median)


def row(*cells: str) -> None:
    """One row of a Markdown table."""
    print("| " + " | ".join(cells) + " |")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds per page and way (default 7)")
    parser.add_argument(
        "--renders", type=int, default=2000, help="renders per round at most (default 2000)"
    )
    parser.add_argument(
        "--warmup", type=int, default=200, help="renders before timing (default 200)"
    )
    parser.add_argument(
        "--batch-seconds",
        type=float,
        default=0.5,
        help="cap on one round's batch, to bound the run (default 0.5)",
    )
    parser.add_argument(
        "--auto-reload", action="store_true", help="Jinja auto_reload on (Flask's debug setting)"
    )
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    if args.rounds < 1 or args.renders < 1 or args.warmup < 1:
        parser.error("--rounds, --renders and --warmup must be at least 1")

    began = time.perf_counter()
    env = make_env(auto_reload=args.auto_reload)
    fns = renderers(env)
    outputs = {page: {way: fn() for way, fn in ways.items()} for page, ways in fns.items()}
    timings = measure(fns, args.rounds, args.renders, args.warmup, args.batch_seconds)

    info = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "jinja2": version("jinja2"),
        "govuk-frontend-jinja": version("govuk-frontend-jinja"),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "auto_reload": args.auto_reload,
        "rounds": args.rounds,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    print(
        "Jinja render cost of GOV.UK components: " + ", ".join(f"{k} {v}" for k, v in info.items())
    )
    print("Per render, median of the rounds (min-max of the rounds); µs = microseconds.\n")

    row(
        "page",
        "way",
        "renders x rounds",
        "wall µs median",
        "wall µs min-max",
        "CPU µs median",
        "bytes",
        "bytes, whitespace collapsed",
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    figures: dict[str, Any] = {"info": info, "pages": {}}
    for page in PAGES:
        figures["pages"][page] = {"ways": {}, "ratios": {}, "differences": {}}
        for way, t in timings[page].items():
            html = outputs[page][way]
            size = len(html.encode())
            collapsed = len(" ".join(html.split()).encode())
            row(
                PAGE_LABEL[page],
                WAY_LABEL[way],
                f"{t.renders} x {len(t.wall_us)}",
                f"{t.wall_median:.1f}",
                f"{min(t.wall_us):.1f}-{max(t.wall_us):.1f}",
                f"{t.cpu_median:.1f}",
                f"{size:,}",
                f"{collapsed:,}",
            )
            figures["pages"][page]["ways"][way] = {
                **asdict(t),
                "wall_us_median": t.wall_median,
                "cpu_us_median": t.cpu_median,
                "bytes": size,
                "bytes_whitespace_collapsed": collapsed,
            }

    print("\nRatios of the medians (wall; CPU in brackets); CPU a page pays over inline HTML:\n")
    row(
        "page",
        "macros / own",
        "macros / inline",
        "own / inline",
        "macros-view / own",
        "macros - inline, CPU µs",
        "own - inline, CPU µs",
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for page in PAGES:
        pt = timings[page]
        pairs = {f"{a}/{b}": ratios(pt, a, b) for a, b in RATIOS}
        cells = [f"{v[0]:.2f} ({v[1]:.2f})" if v else "-" for v in pairs.values()]
        extra = {way: pt[way].cpu_median - pt["inline"].cpu_median for way in ("macros", "own")}
        cells += [f"{extra['macros']:+.0f}", f"{extra['own']:+.0f}"]
        row(PAGE_LABEL[page], *cells)
        figures["pages"][page]["cpu_us_over_inline"] = extra
        figures["pages"][page]["ratios"] = {
            k: {"wall": v[0], "cpu": v[1]} for k, v in pairs.items() if v is not None
        }

    print(
        "\nMarkup equivalence (whitespace normalised; classes as sets; elements and text in order),"
    )
    print("each way against govuk-frontend-jinja's output:\n")
    for page in PAGES:
        ref = outputs[page]["macros"]
        for way in ("own", "inline", "macros-view"):
            if way not in outputs[page]:
                continue
            diffs = differences(ref, outputs[page][way], "macros", way)
            figures["pages"][page]["differences"][way] = diffs
            verdict = "equivalent" if not diffs else "DIFFERENT"
            print(f"{PAGE_LABEL[page]}: {way} vs macros: {verdict}")
            for line in diffs:
                print("    " + line)

    elapsed = time.perf_counter() - began
    figures["elapsed_s"] = elapsed
    print(f"\nRan in {elapsed:.1f} s.")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
