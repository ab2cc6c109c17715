"""Choosing a language: the chooser page ("Other languages", linked from every page) and the
choice itself, kept in a cookie and, for a signed-in parent or carer, with their account.
The page they came from is where they go back to."""

from __future__ import annotations

from flask import abort, redirect, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import languages
from ..web.language import COOKIE, COOKIE_MAX_AGE, offered
from . import bp

CHOOSE_PAGE = "public/languages/choose.html"


def _back_to(value: str | None) -> str:
    """A path on this site to go back to ("/" for anything else: no other host, no
    scheme-relative `//host`, no backslash tricks)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(character) < 32 for character in value) or "\\" in value:
        return "/"
    return value


@bp.get("/language")
def choose_language() -> str:
    return render_template(
        CHOOSE_PAGE, choices=offered(), back_to=_back_to(request.args.get("next"))
    )


@bp.post("/language")
def set_language() -> Response:
    language = languages.match(request.form.get("language"), pseudo=True)
    if language is None or language not in offered():
        abort(400)
    if current_user.is_authenticated and current_user.is_guardian and language.tag != "en-XA":
        languages.remember(current_user.guardian.id, language.tag)
    response = redirect(_back_to(request.form.get("next")), code=303)
    response.set_cookie(
        COOKIE,
        language.tag,
        max_age=COOKIE_MAX_AGE,
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    return response
