"""Who may reach a page: guardians only, or staff with one of some roles."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort
from flask_login import current_user

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


def staff_required(*roles: str) -> Callable[[View], View]:
    """Staff only; with roles given, only staff with one of them. The roles are kept on the
    view (`allowed_roles`), so that a test can walk the URL map and check each one."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.is_staff or (roles and current_user.staff.role not in roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = frozenset(roles or STAFF_ROLES)  # type: ignore[attr-defined]
        return cast(View, wrapped)

    return decorate
