"""Paper at class speed (docs/paper.md): the classes with how many children are waiting for an
answer, the grid that records a pile of returned slips in one submission, the pre-filled forms
to print, and the list of families waiting for an answer as a CSV file. Staff and admins:
marketing users see nothing about individual children.

Thin views over `portal.paper`. The grid is one POST (with its CSRF token) answered by a
redirect back to the grid, which shows what was recorded in a banner at its top (the whole
page is the answer: htmx's boosted form swaps it in as it would any page). The forms page is
a GET that prints: each form is written in its guardian's language (`languages.in_language`),
unless the office asks for English. The list is an export: a POST, recorded in the audit
log, behind a fresh second factor.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from .. import languages, paper
from ..csv_files import filename
from ..ledger import LedgerError
from ..web.access import fresh_second_factor, staff_required
from ..web.forms import PortalForm, strip
from ..web.hypermedia import confirmation, whole_page
from ..web.incoming import BadInput, parse_id
from ..web.responses import csv_response
from . import bp
from .nav import ADMIN, STAFF, current_school, current_school_id, current_staff

PAGE = "staff/paper/paper.html"
GRID_PAGE = "staff/paper/grid.html"
FORMS_PAGE = "staff/paper/forms.html"
FORM = "staff/paper/_partials/form.html"
SAVED_CATEGORY = "paper-grid"
WHO_WORDS = {
    paper.EVERYONE: "everyone",
    paper.PAPER_ONLY: "those without an email address",
    paper.WAITING: "those waiting for an answer",
}


class GridForm(PortalForm):
    """The grid's own fields; its cells are read from the form by name (`paper.is_cell`)."""

    class_name = HiddenField(name="class", filters=[strip])
    as_of = HiddenField()
    note = TextAreaField(
        "Note (optional)",
        filters=[strip],
        validators=[
            Optional(),
            Length(
                max=paper.MAX_NOTE,
                message=f"The note must be {paper.MAX_NOTE} characters or fewer",
            ),
        ],
    )


class WaitingListForm(PortalForm):
    """Download the list of families waiting for an answer: of one class, or of every class."""

    class_name = StringField(name="class", filters=[strip])


def cells() -> dict[str, str]:
    """The grid's cells as the form sent them: each cell's key and its value (the first, if
    a cell was sent twice)."""
    return {name: request.form.get(name, "") for name in request.form if paper.is_cell(name)}


def as_of() -> int:
    """The ledger position the form was read at; a form without one is not a grid's."""
    value = request.form.get("as_of", "")
    found = 0 if value == "0" else parse_id(value)
    if found is None:
        raise BadInput("This form is not one the portal made. Open the page again.")
    return found


def recorded_words(done: paper.Recorded, source: str) -> str:
    """What was recorded, in a sentence or three; `source` says from whom and how ("for 3
    children, from paper forms")."""
    if not done.changed and not done.meanwhile:
        return "Nothing recorded: every answer was already the one shown."
    parts = []
    if done.changed:
        n = done.changed
        parts.append(f"Recorded {n} changed answer{'s' if n != 1 else ''} {source}.")
    if done.unchanged:
        n = done.unchanged
        parts.append(f"{n} other answer{'s' if n != 1 else ''} had no change.")
    if done.meanwhile:
        n = len(done.meanwhile)
        parts.append(
            f"{n} answer{'s were' if n != 1 else ' was'} not recorded: "
            f"{'they' if n != 1 else 'it'} changed while saving. Check "
            f"{'them' if n != 1 else 'it'} below."
        )
    return " ".join(parts)


# --- the classes ---------------------------------------------------------------------------


def _page(form: WaitingListForm | None = None, status: int = 200) -> Response:
    counts = paper.by_class(current_school_id())
    return whole_page(
        PAGE, status=status, counts=counts, form=form or WaitingListForm(formdata=None)
    )


@bp.get("/paper", endpoint="paper")
@staff_required(ADMIN, STAFF)
def paper_page() -> Response:
    return _page()


# --- the grid ------------------------------------------------------------------------------


def _grid_page(
    grid: paper.Grid,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
    form: GridForm | None = None,
    saved: str | None = None,
) -> Response:
    return whole_page(
        GRID_PAGE,
        status=status,
        grid=grid,
        values=values or {},
        problems=problems or {},
        form=form or GridForm(formdata=None),
        saved=saved,
    )


@bp.get("/paper/grid", endpoint="paper_grid")
@staff_required(ADMIN, STAFF)
def grid_page() -> Response:
    class_name = (request.args.get("class") or "").strip()
    if not class_name:
        return redirect(url_for(".paper"))
    grid = paper.class_grid(current_school_id(), class_name)  # NotFound: no such class
    return _grid_page(grid, saved=confirmation(SAVED_CATEGORY))


@bp.post("/paper/grid", endpoint="record_grid")
@staff_required(ADMIN, STAFF)
def record_grid() -> Response:
    form = GridForm()
    class_name = form.class_name.data or ""
    if not class_name:
        raise BadInput("Choose a class first.")
    grid = paper.class_grid(current_school_id(), class_name)  # NotFound: no such class
    values = cells()
    problems: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            done = paper.record_answers(
                current_staff().id, values, as_of=as_of(), channel="paper", note=form.note.data
            )
        except paper.SlipProblem as problem:
            problems = problem.problems
        except LedgerError as refused:
            problems = {"note": f"The answers could not be recorded: {refused}"}
        else:
            return _after_recording(done, class_name)
    if "note" in problems:
        form.note.errors = [*form.note.errors, problems.pop("note")]
    # The grid read again: its answers as they stand now, and a new `as_of`, so that
    # sending it again after checking records what is still changed.
    grid = paper.class_grid(current_school_id(), class_name)
    return _grid_page(grid, status=400, values=values, problems=problems, form=form)


def _after_recording(done: paper.Recorded, class_name: str) -> Response:
    children = f"for {done.pupils} {'child' if done.pupils == 1 else 'children'}, "
    flash(
        recorded_words(done, f"{children if done.pupils else ''}from paper forms"),
        SAVED_CATEGORY,
    )
    query: dict[str, Any] = {"class": class_name}
    return redirect(url_for(".paper_grid", **query))


# --- the forms to print --------------------------------------------------------------------


@bp.get("/paper/forms", endpoint="paper_forms")
@staff_required(ADMIN, STAFF)
def forms_page() -> Response | str:
    class_name = (request.args.get("class") or "").strip() or None
    pupil_id = parse_id(request.args.get("pupil"))
    who = request.args.get("who") or paper.EVERYONE
    if who not in paper.WHO:
        who = paper.EVERYONE
    english = request.args.get("language") == "en"
    if request.args.get("pupil") and pupil_id is None:
        raise BadInput("That is not a pupil the portal knows. Find the pupil again.")
    if class_name is None and pupil_id is None:
        return redirect(url_for(".paper"))
    found = paper.forms(
        current_school_id(),
        class_name=None if pupil_id else class_name,
        pupil_id=pupil_id,
        who=who,
        english=english,
    )
    printed = [_printed(form, found) for form in found.forms]
    staff = current_staff()
    args: dict[str, Any] = {"class": class_name} if pupil_id is None else {"pupil": pupil_id}
    if who != paper.EVERYONE:
        args["who"] = who
    return render_template(
        FORMS_PAGE,
        found=found,
        printed=printed,
        who_words=WHO_WORDS[who],
        english=english,
        args=args,
        produced_by=staff.name or staff.email,
    )


def _printed(form: paper.Form, found: paper.Forms) -> Markup:
    """One form, written in its guardian's language."""
    with languages.in_language(form.language.tag):
        return Markup(  # noqa: S704 (a template we render, autoescaped)
            render_template(FORM, form=form, school=found.school, produced_at=found.produced_at)
        )


# --- the list of families waiting for an answer --------------------------------------------


@bp.post("/paper/waiting-list", endpoint="export_waiting")
@staff_required(ADMIN, STAFF)
@fresh_second_factor(back="staff.paper")
def export_waiting() -> Response:
    school = current_school()
    form = WaitingListForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    class_name = form.class_name.data or None
    paper.start_waiting_export(current_staff(), class_name)  # NotFound: no such class
    kind = "waiting-for-answers" + (f"-{_slug(class_name)}" if class_name else "")
    return csv_response(paper.waiting_csv(school.id, class_name), filename(kind, school.slug))


def _slug(text: str) -> str:
    """A class's name as part of a file name: letters and digits, dashes between."""
    words = "".join(c if c.isascii() and c.isalnum() else " " for c in text.lower()).split()
    return "-".join(words) or "class"
