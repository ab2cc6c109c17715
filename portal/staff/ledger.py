"""The ledger browser (admins): the school's events filtered and paged, the chain head,
"verify now", and the filtered events as a streamed CSV.

The filter is a GET form: a plain request gets the whole page, the form's own htmx request
gets just the results (and pushes the URL, so the address bar and the back button keep the
filter). Verify now and the export are POSTs: each writes an audit entry.
"""

from __future__ import annotations

from typing import Any

from flask import flash, get_flashed_messages, redirect, render_template, request, url_for

from .. import exports, ledger_browser
from ..extensions import htmx
from ..web.access import staff_required
from . import bp
from .exports import csv_response
from .ledger_forms import LedgerExportForm, LedgerFilterForm
from .nav import ADMIN, current_school, current_staff

VERIFIED = "ledger-verified"


def _fragment_wanted() -> bool:
    """An htmx request from the page's own form or links (not a boosted page load)."""
    return bool(htmx) and not htmx.boosted


def _live(results: ledger_browser.EventPage | None) -> str | None:
    if results is None:
        return None
    count = results.total
    return f"{count:,} event matches" if count == 1 else f"{count:,} events match"


def _render(form: LedgerFilterForm, status: int = 200, *, fragment: bool = False) -> Any:
    school = current_school()
    results = None
    if not form.errors:
        results = ledger_browser.page(
            school.id,
            form.to_filter(),
            before=request.args.get("before", type=int),
            after=request.args.get("after", type=int),
        )
    context: dict[str, Any] = {
        "form": form,
        "results": results,
        "filter_args": form.query_args(),
        "live": _live(results),
    }
    if fragment:
        # The address to show: the filter as given, without the form's empty fields.
        shown: dict[str, Any] = {**context["filter_args"]}
        shown.update((k, v) for k in ("before", "after") if (v := request.args.get(k)))
        push = url_for("staff.ledger", **shown)
        body = render_template("staff/_partials/ledger_results.html", fragment=True, **context)
        return body, status, {"HX-Push-Url": push}
    just_checked = bool(get_flashed_messages(category_filter=[VERIFIED]))
    return render_template(
        "staff/ledger.html",
        head=ledger_browser.head(school),
        check=ledger_browser.last_check(school.id),
        just_checked=just_checked,
        **context,
    ), status


@bp.get("/ledger")
@staff_required(ADMIN)
def ledger() -> Any:
    options = ledger_browser.options(current_school().id)
    form = LedgerFilterForm(formdata=request.args).offer(options)
    status = 200 if form.validate() else 400
    return _render(form, status, fragment=_fragment_wanted())


@bp.post("/ledger/verify")
@staff_required(ADMIN)
def verify_ledger() -> Any:
    # A button: CSRFProtect has checked the token (every POST), there is nothing else to parse.
    check = ledger_browser.verify_now(current_staff())
    if _fragment_wanted():
        words = "The ledger checks out." if check.ok else "The ledger is broken."
        return render_template(
            "staff/_partials/ledger_verify.html",
            check=check,
            just_checked=True,
            fragment=True,
            live=words,
        )
    flash("checked", VERIFIED)
    return redirect(url_for("staff.ledger", _anchor="verify"))


@bp.post("/ledger/export")
@staff_required(ADMIN)
def export_ledger() -> Any:
    school = current_school()
    form = LedgerExportForm().offer(ledger_browser.options(school.id))
    if not form.validate_on_submit():
        return _render(form, 400)
    wanted = form.to_filter()
    up_to = exports.start_ledger_export(current_staff(), wanted)  # NotFound: not this school's
    return csv_response(
        exports.ledger_csv(school.id, wanted, up_to_seq=up_to),
        exports.filename("ledger", school.slug),
    )
