"""The photo check: which of these pupils may appear in a photo for these purposes?

One GET form (nothing here changes anything): the purposes, then who is in the photo (a
class, a year group, pupils found by name), then "Check". Without JavaScript it is a plain
form; with htmx the name box searches as you type (the fragment of matching pupils) and
"Check" swaps in only the answer (the fragment the full page includes). A print view of the
same query gives a class sheet for teachers who work on paper.

Query parameters (all three endpoints): `purpose` (repeated, ids), `class`, `year`, `q`
(a name to search for), `pupil` (repeated, ids of picked pupils), `action` (`search` or
`check`, from the button pressed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response
from wtforms import SelectField, SelectMultipleField, StringField

from .. import photo_check
from ..web.access import staff_required
from ..web.forms import PortalForm, strip
from ..web.hypermedia import page_or_fragment, wants_fragment, whole_page
from . import bp
from .nav import ADMIN, STAFF, current_school_id, current_staff

PAGE = "staff/photo_check/check.html"
RESULTS = "staff/photo_check/_partials/results.html"
PUPILS = "staff/photo_check/_partials/pupils.html"
PRINT = "staff/photo_check/print.html"

CHOOSE_PURPOSE = "Choose what the photo will be used for"
CHOOSE_WHO = "Choose a class or a year group, or pick pupils by name"
CHOOSE_CLASS = "Choose a class from the list"
CHOOSE_YEAR = "Choose a year group from the list"


class PhotoCheckForm(PortalForm):
    """What the photo is for and who is in it. A GET form: no CSRF token (nothing changes)."""

    class Meta:
        csrf = False

    # Labels of their own, though the template writes each label out: a field without one
    # has WTForms make one from its name and translate it, for a label nobody sees.
    purpose = SelectMultipleField(
        "What will the photo be used for?", coerce=int, validate_choice=False
    )
    class_name = SelectField("Class", name="class", filters=[strip], validate_choice=False)
    year = SelectField("Year group", filters=[strip], validate_choice=False)
    q = StringField("Find children by name", filters=[strip])
    # Picked by ticking the children found by name: an error about them points at the name box.
    pupil = SelectMultipleField("Children you picked", id="q", coerce=int, validate_choice=False)

    def check(self, options: photo_check.Options) -> bool:
        """Validate against what the school offers. Unknown purpose ids are not an input
        error but a NotFound (another school's ids answer 404), raised by the caller."""
        ok = self.validate()
        if self.purpose.process_errors or not self.purpose.data:
            self.purpose.errors = [CHOOSE_PURPOSE]
            ok = False
        if self.class_name.data and self.class_name.data not in options.classes:
            self.class_name.errors = [CHOOSE_CLASS]
            ok = False
        if self.year.data and self.year.data not in options.year_groups:
            self.year.errors = [CHOOSE_YEAR]
            ok = False
        if self.pupil.process_errors:
            self.pupil.errors = ["Pick pupils from the list"]
            ok = False
        elif not (self.class_name.data or self.year.data or self.pupil.data):
            if not self.class_name.errors and not self.year.errors:
                self.class_name.errors = [CHOOSE_WHO]
            ok = False
        return ok

    def query_args(self) -> dict[str, Any]:
        """The query of this check, for the print view's link (no search, no button)."""
        args: dict[str, Any] = {"purpose": self.purpose.data or []}
        if self.class_name.data:
            args["class"] = self.class_name.data
        if self.year.data:
            args["year"] = self.year.data
        if self.pupil.data:
            args["pupil"] = self.pupil.data
        return args


def _form(options: photo_check.Options) -> PhotoCheckForm:
    form = PhotoCheckForm(formdata=MultiDict(request.args))
    form.purpose.choices = [(p.id, p.title) for p in options.purposes]
    form.class_name.choices = [("", "Not a whole class"), *((c, c) for c in options.classes)]
    form.year.choices = [
        ("", "Not a whole year group"),
        *((y, photo_check.year_label(y)) for y in options.year_groups),
    ]
    return form


def _picked_ids(form: PhotoCheckForm) -> list[int]:
    return [] if form.pupil.process_errors else list(form.pupil.data or [])


def _purpose_ids(form: PhotoCheckForm) -> list[int]:
    return [] if form.purpose.process_errors else list(form.purpose.data or [])


def _scoped(form: PhotoCheckForm, options: photo_check.Options) -> list[photo_check.PupilSummary]:
    """Another school's (or an unknown) purpose or pupil id is a 404, whatever else the
    form holds. The picked pupils, by name."""
    options.chosen(_purpose_ids(form))
    return photo_check.pupils(current_school_id(), _picked_ids(form))


def _asks_for_an_answer() -> bool:
    """A plain visit (or a search) shows the form; anything else is a check to answer."""
    action = request.args.get("action")
    if action:
        return action != "search"
    return any(name in request.args for name in ("purpose", "class", "year", "pupil"))


def _context(
    form: PhotoCheckForm,
    options: photo_check.Options,
    picked: list[photo_check.PupilSummary],
    result: photo_check.Result | None,
    *,
    search: bool = True,
) -> dict[str, Any]:
    """What the page shows: the form, the children picked and those found by name (unless
    `search` is false), and the answer."""
    matches = None
    if search and form.q.data:
        exclude = [p.id for p in picked]
        matches = photo_check.search(current_school_id(), form.q.data, exclude=exclude)
    return {
        "form": form,
        "options": options,
        "picked": picked,
        "matches": matches,
        "result": result,
        "print_args": form.query_args(),
        "pupil_href": _pupil_href(),
    }


def _pupil_href() -> Callable[[int], str]:
    """The link to a pupil's record, by id, for the answer's list of children: url_for once,
    then each pupil's id in its place (a url_for for each of a class of 30 would cost more
    than the rest of the answer's markup)."""
    marker = "2147483647"  # no pupil's id: it marks where the id goes
    head, _, tail = url_for("staff.pupil", pupil_id=int(marker)).partition(marker)
    return lambda pupil_id: f"{head}{pupil_id}{tail}"


def _answer(form: PhotoCheckForm, options: photo_check.Options) -> photo_check.Result:
    chosen = options.chosen(_purpose_ids(form))  # NotFound for another school's ids
    return photo_check.check(
        current_school_id(),
        [p.id for p in chosen],
        class_name=form.class_name.data or None,
        year_group=form.year.data or None,
        pupil_ids=_picked_ids(form),
        offered=options.purposes,
    )


def _invalid(
    form: PhotoCheckForm, options: photo_check.Options, picked: list[photo_check.PupilSummary]
) -> Response:
    """The whole page with the errors (400). For htmx, in place of the body: the errors sit
    beside fields outside the answer's region."""
    return whole_page(PAGE, status=400, **_context(form, options, picked, None))


@bp.get("/photo-check", endpoint="photo_check")
@staff_required(ADMIN, STAFF)
def photo_check_page() -> Response:
    options = photo_check.options(current_school_id(), current_user.school_generation)
    form = _form(options)
    picked = _scoped(form, options)
    result = None
    if _asks_for_an_answer():
        if not form.check(options):
            return _invalid(form, options, picked)
        result = _answer(form, options)
    # htmx swaps in only the answer: the children found by name are the whole page's.
    context = _context(form, options, picked, result, search=not wants_fragment())
    return page_or_fragment(PAGE, RESULTS, **context)


@bp.get("/photo-check/search")
@staff_required(ADMIN, STAFF)
def photo_check_search() -> str | Response:
    """Live search: the pupils already picked (ticked) and those whose name matches `q`."""
    if not wants_fragment():
        # Without htmx the form itself searches; keep what was chosen.
        args: dict[str, Any] = request.args.to_dict(flat=False)
        args["action"] = ["search"]
        return redirect(url_for(".photo_check", **args))
    form = PhotoCheckForm(formdata=MultiDict(request.args))
    school_id = current_school_id()
    picked = photo_check.pupils(school_id, _picked_ids(form))  # NotFound for another school's
    matches = photo_check.search(school_id, form.q.data or "", exclude=[p.id for p in picked])
    return render_template(PUPILS, picked=picked, matches=matches, fragment=True)


@bp.get("/photo-check/print")
@staff_required(ADMIN, STAFF)
def photo_check_print() -> str | Response:
    """The class sheet: one row per pupil, one column per purpose, marks in words."""
    options = photo_check.options(current_school_id(), current_user.school_generation)
    form = _form(options)
    picked = _scoped(form, options)
    if not form.check(options):
        return _invalid(form, options, picked)
    result = _answer(form, options)
    staff = current_staff()
    return render_template(
        PRINT,
        result=result,
        produced_by=staff.name or staff.email,
        print_args=form.query_args(),
    )
