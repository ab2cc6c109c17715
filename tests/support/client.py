"""A test client that checks every HTML page it receives (the GOV.UK Notify habit).

Each full page must parse as HTML5 without errors, have a non-empty title and one h1,
no duplicate ids, forms with an action and a method (POST forms with a CSRF token), and
scripts only with the nonce of the page's Content-Security-Policy: no inline event
handlers and no style attributes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import html5lib
from flask.globals import _cv_app
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.extensions import db


class PageProblem(AssertionError):
    pass


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.h1 = 0
        self.title = ""
        self._in_title = False
        self.forms: list[dict[str, str | None]] = []
        self.form_inputs: list[list[dict[str, str | None]]] = []
        self.scripts: list[dict[str, str | None]] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"])
        for name, _value in attrs:
            if name.startswith("on"):
                self.problems.append(f"inline event handler {name} on <{tag}>")
            if name == "style":
                self.problems.append(f"inline style attribute on <{tag}>")
        if tag == "h1":
            self.h1 += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "form":
            self.forms.append(attributes)
            self.form_inputs.append([])
        elif tag == "input" and self.form_inputs:
            self.form_inputs[-1].append(attributes)
        elif tag == "script":
            self.scripts.append(attributes)
        elif tag == "style":
            self.problems.append("inline <style> element")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def check_html(response: TestResponse, *, fragment: bool = False) -> None:
    body = response.get_data(as_text=True)
    problems: list[str] = []
    parser = html5lib.HTMLParser(strict=False)
    if fragment:
        parser.parseFragment(body)
    else:
        parser.parse(body)
    for position, code, data in parser.errors:
        if code in {"unexpected-end-tag", "non-void-element-with-trailing-solidus",
                    "duplicate-attribute", "unexpected-start-tag", "eof-in-tag",
                    "expected-closing-tag-but-got-eof", "end-tag-too-early"}:  # fmt: skip
            problems.append(f"HTML error {code} at {position} {data}")
    collector = _Collector()
    collector.feed(body)
    problems += collector.problems
    duplicates = sorted({i for i in collector.ids if collector.ids.count(i) > 1})
    if duplicates:
        problems.append(f"duplicate ids: {duplicates}")
    if not fragment:
        if not body.lstrip().lower().startswith("<!doctype html>"):
            problems.append("no doctype")
        if not collector.title.strip():
            problems.append("no title")
        if collector.h1 != 1:
            problems.append(f"{collector.h1} h1 elements (want exactly 1)")
    for form, inputs in zip(collector.forms, collector.form_inputs, strict=True):
        if not form.get("action"):
            problems.append(f"form without an action: {form}")
        method = (form.get("method") or "get").lower()
        if method == "post" and not any(i.get("name") == "csrf_token" for i in inputs):
            problems.append(f"POST form without a CSRF token: {form}")
    csp = response.headers.get("Content-Security-Policy", "")
    match = re.search(r"'nonce-([^']+)'", csp)
    nonce = match.group(1) if match else None
    for script in collector.scripts:
        if nonce is None or script.get("nonce") != nonce:
            problems.append(f"script without the page's CSP nonce: {script}")
    if problems:
        raise PageProblem(f"{response.request.path}: " + "; ".join(problems))


class CheckedClient(FlaskClient):
    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = self._open_as_a_fresh_request(*args, **kwargs)
        if response.mimetype == "text/html" and response.status_code != 304:
            # A card's htmx request gets a fragment, unless the answer is a whole page
            # (an error page) that htmx is told to put in place of the body.
            is_fragment = (
                response.request.headers.get("HX-Request") == "true"
                and not response.request.headers.get("HX-Boosted")
                and response.headers.get("HX-Retarget") != "body"
            )
            if response.get_data():
                check_html(response, fragment=is_fragment)
        return response

    def _open_as_a_fresh_request(self, *args: Any, **kwargs: Any) -> TestResponse:
        """Run the request as production would: its own `g` and its own database session.

        A test that holds an app context open would otherwise share both with every request
        (Flask reuses an active app context), hiding state that leaks between requests.
        """
        context = _cv_app.get(None)
        if context is None or context.app is not self.application:
            return super().open(*args, **kwargs)
        saved_g = context.g
        db.session.remove()
        context.g = self.application.app_ctx_globals_class()
        try:
            return super().open(*args, **kwargs)
        finally:
            db.session.remove()
            context.g = saved_g


def csrf_token(response: TestResponse) -> str:
    """The CSRF token of the first form on a page, to send back as a browser would."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    if not match:
        raise AssertionError(f"no csrf_token on {response.request.path}")
    return match.group(1)
