"""Response headers every page gets (docs/security.md, promise 11).

A per-request nonce is the only way a script runs: there is no inline script or style
without it, and no `unsafe-inline` or `unsafe-eval`.
"""

from __future__ import annotations

import logging
import re
import secrets

from flask import Flask, Response, current_app, g, request

PERSONAL_BLUEPRINTS = frozenset({"auth", "parent", "staff"})


def csp_nonce() -> str:
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


_POLICY = (
    "default-src 'self'",
    "script-src 'self' 'nonce-{nonce}'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
)
# The policy with a hole for the nonce, joined once.
_POLICY_BEFORE, _POLICY_AFTER = "; ".join(_POLICY).split("{nonce}")


def content_security_policy(nonce: str) -> str:
    return f"{_POLICY_BEFORE}{nonce}{_POLICY_AFTER}"


# What every response gets unless its view set its own.
_EVERY_RESPONSE = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)


def set_security_headers(response: Response) -> Response:
    headers = response.headers
    # One look at the names already there, instead of a scan of the headers for each.
    present = {name.lower() for name, _value in headers.items()}
    headers.extend(
        [(name, value) for name, value in _EVERY_RESPONSE if name.lower() not in present]
    )
    if response.mimetype == "text/html":
        headers["Content-Security-Policy"] = content_security_policy(csp_nonce())
        blueprint = request.blueprint or ""
        if blueprint in PERSONAL_BLUEPRINTS or "Cache-Control" not in headers:
            # Pages with personal data are never stored; public pages are revalidated.
            headers["Cache-Control"] = (
                "no-store" if blueprint in PERSONAL_BLUEPRINTS else "no-cache"
            )
        headers.add("Vary", "HX-Request")

    if current_app.config.get("SEND_HSTS"):
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    return response


SIGN_IN_LINK = re.compile(r"(/sign-in/link/)[A-Za-z0-9_\-]+")


def redact(text: str) -> str:
    return SIGN_IN_LINK.sub(r"\1[redacted]", text)


class RedactSignInLinks(logging.Filter):
    """Keep sign-in tokens out of access logs (werkzeug's and gunicorn's) and error logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        elif isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def init_app(app: Flask) -> None:
    # The app's own logger too: Flask logs an unhandled error as "Exception on <path>".
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error", app.logger.name):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSignInLinks) for f in logger.filters):
            logger.addFilter(RedactSignInLinks())
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(set_security_headers)
