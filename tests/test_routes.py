"""Meta-tests over app.url_map (as GOV.UK Notify's test_permissions does)."""

from __future__ import annotations

import re

from flask import Flask

from tests.support.client import csrf_token

PUBLIC_ENDPOINTS = {
    "static",
    "public.home",
    "public.notice",
    "public.notice_version",
    "public.rights",
    "public.choose_language",
    "public.set_language",
    # A school's ledger, for anyone to check (docs/ledger.md, "Signed checkpoints"); an
    # event's proof answers only with its link's token.
    "public.ledger_checkpoint",
    "public.ledger_verifier_key",
    "public.ledger_consistency",
    "public.ledger_proof",
}
PATH_SEGMENT = re.compile(r"^(?:[a-z0-9]+(?:-[a-z0-9]+)*|<(?:int|string|uuid):[a-z_]+>)$")


def _rules(app: Flask):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]


def test_every_path_is_kebab_case_and_every_parameter_typed(app):
    for rule in _rules(app):
        for segment in filter(None, rule.rule.split("/")):
            assert PATH_SEGMENT.match(segment), f"{rule.rule}: {segment!r}"


def test_no_route_is_exempt_from_csrf(app):
    csrf = app.extensions["csrf"]
    assert csrf._exempt_views == set()
    assert csrf._exempt_blueprints == set()
    assert app.config.get("WTF_CSRF_ENABLED", True) is True
    assert app.config.get("WTF_CSRF_CHECK_DEFAULT", True) is True


def test_only_known_endpoints_are_public(app):
    """Every endpoint outside the public blueprint belongs to auth, parent or staff."""
    for rule in _rules(app):
        blueprint = rule.endpoint.rpartition(".")[0]
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        assert blueprint in {"auth", "parent", "staff"}, f"unexpected endpoint {rule.endpoint}"


def test_every_parent_and_staff_route_asks_an_anonymous_visitor_to_sign_in(app):
    # CSRF stays on: a POST carries this anonymous session's token, as a browser would send
    # it, so that it meets the sign-in guard and not the missing token.
    client = app.test_client()
    token = csrf_token(client.get("/sign-in"))
    for rule in _rules(app):
        if rule.endpoint.partition(".")[0] not in {"parent", "staff"}:
            continue
        values = {name: 1 for name in rule.arguments}
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<[a-z]+:{name}>", str(value), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(path, method=method, data=data)
            assert response.status_code in {302, 401, 404}, f"{method} {path} is not guarded"
            if response.status_code == 302:
                assert "/sign-in" in response.headers["Location"]
