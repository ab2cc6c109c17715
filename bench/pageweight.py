"""Page weight of the parent journey: what a phone downloads on a first visit, and per htmx
fragment.

Runs the portal on a fresh SQLite database with the demo data (`flask demo`: Riverside
Primary, its real notice and purposes) through Flask's test client, signs in as the demo
parent Farah Hussain by the emailed link (derived as the email would carry it, as
tests/parent/__init__.py does), and for each page of the journey fetches the HTML with
`Accept-Encoding: br, gzip` and every asset it references (stylesheets, scripts, favicon).

The portal does not compress (gunicorn neither): in production the reverse proxy does. So a
response that comes back unencoded is compressed here as a proxy would send it: gzip at
level 6 (nginx's `gzip_comp_level 6`, the usual setting) and brotli at quality 5 with a
512 KiB window (ngx_brotli's default window, the quality most proxies use on the fly).
Brotli comes from Node.js's zlib (Node is already needed for the assets), or from the
Python `brotli` package when that is installed. A response the app sends encoded is counted
as sent.

Prints identity, gzip and br bytes per resource and per page total on a first visit (HTML,
CSS, JS and favicon), and per htmx fragment (a choice on a child's page posted with
`HX-Request: true`, and the marketing choice). Targets: parent pages <= 50 KB compressed on a
first visit; htmx fragments <= 5 KB (KB = 1,024 bytes).

Usage:  .venv/bin/python bench/pageweight.py [--json bench/out/pageweight.json]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import create_app, demo, signin  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Pupil, Purpose, SignInRequest  # noqa: E402

PARENT = "farah.hussain@example.org"
SCHOOL = demo.SLUG
KB = 1024
PAGE_BUDGET = 50 * KB
FRAGMENT_BUDGET = 5 * KB
GZIP_LEVEL = 6
BROTLI_QUALITY = 5
BROTLI_WINDOW = 19  # 2**19 = 512 KiB, ngx_brotli's default brotli_window
ACCEPT = {"Accept-Encoding": "br, gzip"}
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/family"}

# What a browser fetches for a page: stylesheets, scripts, icons (attribute order is free).
TAG = re.compile(r"<(link|script)\b([^>]*)>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'([a-zA-Z-]+)="([^"]*)"')
CSS_URL = re.compile(r"url\(\s*[\"']?([^\"')]+)[\"']?\s*\)")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

NODE_BROTLI = """
const zlib = require("zlib");
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const [quality, window, blobs] = JSON.parse(input);
  const sizes = blobs.map((b64) => zlib.brotliCompressSync(Buffer.from(b64, "base64"), {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: quality,
      [zlib.constants.BROTLI_PARAM_LGWIN]: window,
    },
  }).length);
  process.stdout.write(JSON.stringify(sizes));
});
"""


# --- compression, as a proxy would send it ------------------------------------------------


def gzip_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))


def brotli_sizes(blobs: list[bytes]) -> tuple[list[int | None], str]:
    """Brotli sizes at quality 5 and a 512 KiB window, and what computed them."""
    try:
        import brotli  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        sizes: list[int | None] = [
            len(brotli.compress(b, quality=BROTLI_QUALITY, lgwin=BROTLI_WINDOW)) for b in blobs
        ]
        return sizes, f"Python brotli {getattr(brotli, '__version__', '?')}"
    node = shutil.which("node")
    if node is None:
        return [None] * len(blobs), "not measured (neither Node.js nor Python brotli found)"
    payload = json.dumps(
        [BROTLI_QUALITY, BROTLI_WINDOW, [base64.b64encode(b).decode("ascii") for b in blobs]]
    )
    done = subprocess.run(
        [node, "-e", NODE_BROTLI], input=payload, capture_output=True, text=True, check=True
    )
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    return json.loads(done.stdout), f"Node.js {version} zlib"


# --- the app, its demo data and a signed-in client ------------------------------------------


def demo_app(folder: Path, secret: str = "bench-pageweight-" * 3) -> Any:
    """The portal on a fresh SQLite database in `folder`, migrated, with the demo data.
    Mail written by the app goes to `folder`/outbox, never to the project's instance/."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'portal.sqlite3'}",
            "SECRET_KEY": secret,
            "MAIL_OUTBOX_DIR": str(folder / "outbox"),
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        demo.load()
        db.session.commit()
        db.session.remove()
    return app


def sign_in_link(app: Any, address: str = PARENT) -> str:
    """The path of a fresh sign-in link for `address`, as the email would carry it."""
    with app.app_context():
        outcome = signin.request_link(address)
        row = db.session.scalars(
            select(SignInRequest).where(SignInRequest.public_id == outcome.public_id)
        ).one()
        path = f"/sign-in/link/{signin.derive_token(row.nonce)}"
        db.session.commit()
        db.session.remove()
    return path


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    if match is None:
        raise SystemExit("no CSRF token on the page")
    return match.group(1)


def sign_in(client: Any, app: Any) -> None:
    path = sign_in_link(app)
    page = client.get(path)
    response = client.post(path, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    if response.status_code != 302 or response.headers["Location"] != "/family":
        raise SystemExit(f"signing in failed: {response.status_code} {response.headers}")


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Resource:
    path: str
    kind: str
    status: int
    identity: int
    gzip: int = 0
    br: int | None = None
    sent_encoding: str = ""  # Content-Encoding the app itself sent, if any
    body: bytes = field(default=b"", repr=False)


@dataclass
class Page:
    name: str
    path: str
    resources: list[Resource]

    def total(self, what: str) -> int | None:
        values = [getattr(r, what) for r in self.resources]
        return None if any(v is None for v in values) else sum(values)


def fetch(client: Any, path: str, kind: str, *, method: str = "GET", **kwargs: Any) -> Resource:
    headers = {**ACCEPT, **kwargs.pop("headers", {})}
    response = client.open(path, method=method, headers=headers, **kwargs)
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding", "")
    if encoding:
        if method == "GET":
            plain_body = client.get(path, headers={"Accept-Encoding": "identity"}).get_data()
        elif encoding == "gzip":  # never POST twice: that would record a second answer
            plain_body = gzip.decompress(body)
        else:
            raise SystemExit(f"{method} {path} came back {encoding}-encoded: cannot size it")
        resource = Resource(path, kind, response.status_code, len(plain_body))
        resource.sent_encoding = encoding
        resource.body = plain_body
        setattr(resource, "br" if encoding == "br" else "gzip", len(body))
    else:
        resource = Resource(path, kind, response.status_code, len(body), body=body)
    response.close()
    return resource


def assets_of(html: str) -> list[tuple[str, str]]:
    """The same-site stylesheets, scripts and icons a browser fetches for this page."""
    found: list[tuple[str, str]] = []
    for tag, attributes in TAG.findall(html):
        attrs = dict(ATTRIBUTE.findall(attributes))
        if tag.lower() == "script" and attrs.get("src"):
            found.append((attrs["src"], "js"))
        elif tag.lower() == "link" and attrs.get("href"):
            rel = attrs.get("rel", "").lower().split()
            if "stylesheet" in rel:
                found.append((attrs["href"], "css"))
            elif "icon" in rel:
                found.append((attrs["href"], "icon"))
    return [(url, kind) for url, kind in found if url.startswith("/") and not url.startswith("//")]


def first_visit(client: Any, name: str, path: str) -> Page:
    page = fetch(client, path, "html")
    if page.status != 200:
        raise SystemExit(f"{name}: GET {path} answered {page.status}")
    resources = [page]
    for url, kind in assets_of(page.body.decode("utf-8")):
        asset = fetch(client, url, kind)
        if asset.status != 200:
            raise SystemExit(f"{name}: {url} answered {asset.status}")
        resources.append(asset)
    return Page(name, path, resources)


def compress_all(resources: list[Resource]) -> str:
    """Fill in the gzip and br sizes of what the app sent unencoded; say what made br."""
    for r in resources:
        if r.sent_encoding != "gzip":
            r.gzip = gzip_size(r.body)
    todo = [r for r in resources if r.sent_encoding != "br"]
    sizes, how = brotli_sizes([r.body for r in todo])
    for r, size in zip(todo, sizes, strict=True):
        r.br = size
    return how


def css_references(client: Any, resources: list[Resource]) -> list[tuple[str, int]]:
    """Images and fonts a stylesheet names (a browser fetches them only when a rule applies)."""
    seen: dict[str, int] = {}
    for r in resources:
        if r.kind == "css":
            for url in CSS_URL.findall(r.body.decode("utf-8", "replace")):
                if url.startswith("/") and url not in seen:
                    response = client.get(url)
                    seen[url] = response.status_code
                    response.close()
    return sorted(seen.items())


# --- the journey -------------------------------------------------------------------------


def measure(folder: Path) -> tuple[list[Page], list[Resource], list[tuple[str, int]]]:
    app = demo_app(folder)
    with app.app_context():
        amira = db.session.scalars(select(Pupil).where(Pupil.forename == "Amira")).one()
        amira_id = amira.id
        choices = [
            (p.id, p.key, p.choice.value if hasattr(p.choice, "value") else p.choice, p.version)
            for p in db.session.scalars(
                select(Purpose)
                .where(Purpose.school_id == amira.school_id, Purpose.scope == "pupil")
                .order_by(Purpose.id)
            )
            if (p.choice.value if hasattr(p.choice, "value") else p.choice) != "none"
        ]
        db.session.remove()

    pages: list[Page] = []
    anonymous = app.test_client()
    pages.append(first_visit(anonymous, "sign-in", "/sign-in"))
    asked = anonymous.post(
        "/sign-in",
        data={"email": PARENT, "csrf_token": csrf_token(pages[-1].resources[0].body.decode())},
    )
    if asked.status_code != 302:
        raise SystemExit(f"asking for a sign-in link answered {asked.status_code}")
    pages.append(first_visit(anonymous, "check your email", asked.headers["Location"]))

    # A new client for the signed-in journey: a first visit each time means an empty cache,
    # which the loop below gets by fetching every asset again for every page.
    client = app.test_client()
    sign_in(client, app)
    journey = [
        ("your children", "/family"),
        ("a child (Amira)", f"/family/children/{amira_id}"),
        ("marketing", f"/family/schools/{SCHOOL}/marketing"),
        ("history", "/family/history"),
        ("privacy notice", f"/schools/{SCHOOL}/privacy-notice"),
        ("your rights", f"/schools/{SCHOOL}/your-rights"),
    ]
    for name, path in journey:
        pages.append(first_visit(client, name, path))

    fragments: list[Resource] = []
    child_path = f"/family/children/{amira_id}"
    for purpose_id, key, choice, version in choices:
        token = csrf_token(client.get(child_path).get_data(as_text=True))
        decision = "grant" if choice == "consent" else "object"
        data = {"decision": decision, "purpose_version": str(version), "csrf_token": token}
        if decision == "object":
            data["note"] = "We would rather our daughter's photo was not on display."
        fragment = fetch(
            client,
            f"{child_path}/choices/{purpose_id}",
            f"htmx: {decision} '{key}' for Amira",
            method="POST",
            data=data,
            headers=HTMX,
        )
        fragments.append(fragment)
    marketing = f"/family/schools/{SCHOOL}/marketing"
    token = csrf_token(client.get(marketing).get_data(as_text=True))
    fragments.append(
        fetch(
            client,
            marketing,
            "htmx: object to all direct marketing",
            method="POST",
            data={"decision": "object", "csrf_token": token},
            headers=HTMX,
        )
    )
    for fragment in fragments:
        if fragment.status != 200 or b"<html" in fragment.body[:200].lower():
            raise SystemExit(f"{fragment.kind}: answered {fragment.status}, not a fragment")

    everything = [r for p in pages for r in p.resources] + fragments
    global BROTLI_HOW
    BROTLI_HOW = compress_all(everything)
    referenced = css_references(client, [r for p in pages for r in p.resources])
    return pages, fragments, referenced


BROTLI_HOW = ""


def kb(n: int | None) -> str:
    return "n/a" if n is None else f"{n / KB:.1f}"


def report(pages: list[Page], fragments: list[Resource], referenced: list[tuple[str, int]]) -> None:
    print(
        "Sizes in bytes. The portal sends every response unencoded (so does gunicorn): the gzip "
        f"and br columns are what a reverse proxy compressing at gzip level {GZIP_LEVEL} and "
        f"brotli quality {BROTLI_QUALITY} (512 KiB window) would send; a response the app "
        f"itself encoded is counted as sent. Brotli by {BROTLI_HOW}.\n"
    )
    header = f"  {'resource':<58} {'identity':>9} {'gzip 6':>8} {'br 5':>8}"
    for page in pages:
        print(f"{page.name} — first visit of {page.path} (empty cache)")
        print(header)
        for r in page.resources:
            label = r.path if len(r.path) <= 50 else r.path[:47] + "..."
            note = f" (sent {r.sent_encoding})" if r.sent_encoding else ""
            print(
                f"  {r.kind + ' ' + label + note:<58} {r.identity:>9,} {r.gzip:>8,} "
                f"{'n/a' if r.br is None else f'{r.br:,}':>8}"
            )
        total_gz, total_br = page.total("gzip"), page.total("br")
        worst = max(v for v in (total_gz, total_br) if v is not None)
        print(
            f"  {'total':<58} {page.total('identity'):>9,} {total_gz:>8,} "
            f"{'n/a' if total_br is None else f'{total_br:,}':>8}"
            f"   {'within' if worst <= PAGE_BUDGET else 'OVER'} 50 KB ({kb(total_gz)} KB gzip, "
            f"{kb(total_br)} KB br)\n"
        )
    print("htmx fragments (as the POST answers them, HX-Request: true)")
    print(header)
    for r in fragments:
        print(
            f"  {r.kind:<58} {r.identity:>9,} {r.gzip:>8,} "
            f"{'n/a' if r.br is None else f'{r.br:,}':>8}"
            f"   {'within' if r.identity <= FRAGMENT_BUDGET else 'over'} 5 KB uncompressed"
        )
    if referenced:
        print(
            "\nURLs the stylesheet names (fetched by a browser only if a rule using them "
            "applies; not counted above):"
        )
        for url, status in referenced:
            print(f"  {url}: {status}")


def resource_numbers(r: Resource) -> dict[str, Any]:
    return {k: v for k, v in asdict(r).items() if k != "body"}


def figures(pages: list[Page], fragments: list[Resource]) -> list[dict[str, Any]]:
    """The figures for bench/report.py, each with its raw numbers (bytes per resource)."""
    compression = {
        "gzip_level": GZIP_LEVEL,
        "brotli_quality": BROTLI_QUALITY,
        "brotli_window_bits": BROTLI_WINDOW,
        "brotli_by": BROTLI_HOW,
        "computed": "as a proxy at these levels would send it (the app does not compress)",
    }
    out: list[dict[str, Any]] = []
    for page in pages:
        for what, label in (("br", "br 5"), ("gzip", "gzip 6")):
            total = page.total(what)
            out.append(
                {
                    "name": f"{page.name}: first visit ({label})",
                    "value": None if total is None else round(total / KB, 1),
                    "unit": "KB",
                    "target": "≤ 50 KB",
                    "ok": None if total is None else total <= PAGE_BUDGET,
                    "path": page.path,
                    "bytes": total,
                    "identity_bytes": page.total("identity"),
                    "resources": [resource_numbers(r) for r in page.resources],
                    "compression": compression,
                }
            )
    for what, label in (("identity", "uncompressed"), ("gzip", "gzip 6"), ("br", "br 5")):
        sized = [r for r in fragments if getattr(r, what) is not None]
        if not sized:
            continue
        largest = max(sized, key=lambda r: getattr(r, what))
        size = getattr(largest, what)
        out.append(
            {
                "name": f"largest htmx fragment, {label} ({largest.kind.removeprefix('htmx: ')})",
                "value": round(size / KB, 2),
                "unit": "KB",
                "target": "≤ 5 KB",
                "ok": size <= FRAGMENT_BUDGET,
                "bytes": size,
                "fragments": [resource_numbers(r) for r in fragments],
                "compression": compression,
            }
        )
    return out


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-pageweight-") as tmp:
        pages, fragments, referenced = measure(Path(tmp))
    report(pages, fragments, referenced)
    if ARGS.json:
        path = Path(ARGS.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(figures(pages, fragments), indent=2, ensure_ascii=False) + "\n")
        print(f"\nwrote {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="write the figures to PATH as JSON")
    ARGS = parser.parse_args()
    main()
