"""Sign-in by emailed link or code, for parents and staff; sign-out."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from .. import signin
from ..extensions import login_manager

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.sign_in"
login_manager.login_message = None  # type: ignore[assignment]
login_manager.session_protection = None  # sessions are checked on the server instead


@login_manager.user_loader
def load_user(session_token: str) -> signin.SignedIn | None:
    return signin.load_session(session_token)


@login_manager.unauthorized_handler
def unauthorized() -> BaseResponse:
    target = url_for("auth.sign_in")
    if request.headers.get("HX-Request") == "true":
        # htmx cannot follow a redirect to another page in place: send the browser there.
        response = Response(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


from . import views  # noqa: E402,F401
