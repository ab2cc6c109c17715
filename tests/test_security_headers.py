from __future__ import annotations

import re

from tests.support.client import csrf_token
from tests.support.factories import make_notice, make_school


def test_every_html_page_has_a_strict_csp_with_a_fresh_nonce(client):
    school = make_school()
    make_notice(school)
    first = client.get("/schools/oak-primary/privacy-notice")
    second = client.get("/schools/oak-primary/privacy-notice")
    csp = first.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert f'nonce="{nonce}"' in first.get_data(as_text=True)
    assert nonce not in second.headers["Content-Security-Policy"]


def test_protective_headers_on_pages_and_errors(client):
    for response in (client.get("/"), client.get("/no-such-page")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "Content-Security-Policy" in response.headers
        assert "HX-Request" in response.headers.get("Vary", "")


def test_htmx_is_configured_for_the_csp(client):
    make_school(slug="a-school", name="A")
    make_school(slug="b-school", name="B")
    text = client.get("/").get_data(as_text=True)
    config = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'', text).group(1)
    for setting in (
        '"allowEval": false',
        '"includeIndicatorStyles": false',
        '"historyCacheSize": 0',
        '"selfRequestsOnly": true',
    ):
        assert setting in config


def test_no_asset_comes_from_another_host(client):
    make_school(slug="a-school", name="A")
    make_school(slug="b-school", name="B")
    text = client.get("/").get_data(as_text=True)
    for reference in re.findall(r'(?:src|href)="([^"]+)"', text):
        assert not reference.startswith(("http://", "https://", "//")), reference


def test_a_post_without_a_csrf_token_is_rejected_with_a_readable_page(make_app):
    app = make_app()
    calls = []

    @app.post("/test-only/change")
    def change() -> str:
        calls.append(1)
        return "changed"

    response = app.test_client().post("/test-only/change", data={"anything": "1"})
    assert response.status_code == 400
    assert "Your form has expired" in response.get_data(as_text=True)
    assert calls == []


def test_a_boosted_post_answered_with_a_page_keeps_the_address(client):
    """A form with errors, answered to a boosted POST, must not put the POST's address in the
    history (reloading it would GET a POST-only address)."""
    page = client.get("/sign-in")
    token = csrf_token(page)
    boosted = {"HX-Request": "true", "HX-Boosted": "true"}
    response = client.post("/sign-in", data={"email": "", "csrf_token": token}, headers=boosted)
    assert response.status_code == 400
    assert response.headers["HX-Push-Url"] == "false"
    # A plain POST, and a redirect, say nothing: htmx pushes the page a redirect ends on.
    plain = client.post("/sign-in", data={"email": "", "csrf_token": token})
    assert "HX-Push-Url" not in plain.headers
    redirected = client.post("/sign-out", data={"csrf_token": token}, headers=boosted)
    assert redirected.status_code == 302 and "HX-Push-Url" not in redirected.headers
