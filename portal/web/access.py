"""Who may reach a page: guardians only, or staff with one of some roles."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, abort, redirect, request, url_for
from flask_login import current_user

from .. import second_factor
from ..extensions import login_manager

View = TypeVar("View", bound=Callable[..., Any])


def guardian_required(view: View) -> View:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_guardian:
            abort(403)
        return view(*args, **kwargs)

    return cast(View, wrapped)


STAFF_ROLES = ("admin", "staff", "marketing")


def _go(target: str) -> Any:
    """Send the browser to `target`: a redirect, or for htmx (which cannot follow one to
    another page in place) an HX-Redirect."""
    if request.headers.get("HX-Request") == "true":
        response = Response(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def passed_second_factor() -> bool:
    """Whether the signed-in staff user's session has passed its second factor (or none is
    required here)."""
    return current_user.second_factor_at is not None or not second_factor.required()


def _here() -> str:
    """Where to come back to after the second factor: this page, or for a POST the page the
    form was on (the form is then sent again by the person, not replayed)."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    return ""


def staff_required(*roles: str) -> Callable[[View], View]:
    """Staff only, and only once their session has passed the second factor (until then
    every staff page sends them to it); with roles given, only staff with one of them. The
    roles are kept on the view (`allowed_roles`), so that a test can walk the URL map and
    check each one."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.is_staff:
                abort(403)
            if not passed_second_factor():
                return _go(url_for("staff.second_factor", next=_here() or None))
            if roles and current_user.staff.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles or STAFF_ROLES)  # type: ignore[attr-defined]
        return cast(View, wrapped)

    return decorate


def fresh_second_factor(back: str) -> Callable[[View], View]:
    """For the riskiest actions (exports, roster import, staff user changes, resets): the
    second factor must have been passed in the last FRESH_MINUTES, or the person is asked
    for it again and then brought back to the page `back` (an endpoint), or to this page
    for a GET. Put under `staff_required`."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not second_factor.is_fresh(current_user.second_factor_at):
                target = _here() or url_for(back)
                return _go(url_for("staff.second_factor", next=target, again="1"))
            return view(*args, **kwargs)

        wrapped.fresh_second_factor = True  # type: ignore[attr-defined]
        return cast(View, wrapped)

    return decorate
