"""What every request must be before any view sees it.

Checked once, for every request, before any handler (docs/security.md, "Bad input"):
- the body is at most `FORM_BODY_LIMIT` bytes, unless the view accepts more
  (`accepts_large_body`, for the roster upload and the notice text): an over-long email
  address or a padded form is refused before it is parsed;
- no NUL character in the path, the query string or a form field: PostgreSQL cannot store
  one, no person types one, and a page never needs one;
- URL ids (`<int:...>`) are ASCII digits within the database's integer range, so an id past
  2,147,483,647 is a 404 like any other id that does not exist.
Form fields and query parameters that carry ids are parsed with `parse_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

# The largest value of a 32-bit signed integer column (PostgreSQL `integer`, SQLAlchemy's
# default for ids): anything larger cannot be the id of a row.
MAX_ID = 2**31 - 1
# A form is a few fields; 64 KiB holds the longest note or purpose wording many times over.
FORM_BODY_LIMIT = 64 * 1024
FORMS = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

View = TypeVar("View", bound=Callable[..., Any])


class BadInput(BadRequest):
    """A request the portal refuses, with a sentence the error page shows as it is."""


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: ASCII digits, 1 to MAX_ID (a larger number is no row's id:
    the route does not match, so the answer is a 404)."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 0)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def parse_id(value: object) -> int | None:
    """An id from a form field or query parameter: ASCII digits within 1..MAX_ID, else None.
    (`str.isdigit` accepts "²" and "٣", which `int` then refuses or misreads.)"""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def accepts_large_body(*, too_large: str) -> Callable[[View], View]:
    """Let this view take bodies up to the app's MAX_CONTENT_LENGTH (an uploaded file);
    `too_large` is what the error page tells someone whose upload is larger still."""

    def mark(view: View) -> View:
        view.too_large = too_large  # type: ignore[attr-defined]
        return view

    return mark


def opaque_path(view: View) -> View:
    """This view's address carries an opaque token that the view checks itself (a sign-in
    link): any character there, NUL included, is just a token that does not work, and the
    view says so in its own words."""
    view.opaque_path = True  # type: ignore[attr-defined]
    return view


def _view() -> Any:
    return current_app.view_functions.get(request.endpoint or "")


def too_large_hint(view: Any = None) -> str | None:
    """What to do instead, for the view of this request (`view` if it is already looked
    up), when its body is too large."""
    return getattr(view or _view(), "too_large", None)


def _has_nul(pairs: Any) -> bool:
    """Whether any key or value of a MultiDict's `items(multi=True)` holds a NUL."""
    return any("\x00" in key or "\x00" in str(value) for key, value in pairs)


def check_request() -> None:
    view = _view()
    if too_large_hint(view) is None:
        request.max_content_length = min(
            FORM_BODY_LIMIT, current_app.config.get("MAX_CONTENT_LENGTH") or FORM_BODY_LIMIT
        )
    opaque = getattr(view, "opaque_path", False)
    # No query string, no parameters to parse (most pages): only the path to look at.
    if ("\x00" in request.path and not opaque) or (
        request.query_string and _has_nul(request.args.items(multi=True))
    ):
        raise BadInput(_("The address has a character that is not allowed (NUL)."))
    if request.mimetype in FORMS and _has_nul(request.form.items(multi=True)):
        raise BadInput(_("The form has a character that is not allowed (NUL)."))


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    # First of the before-request functions: nothing reads the request before this.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request)
