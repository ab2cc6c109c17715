"""Pupil records: find a pupil (by name, or by the family's reference on a paper form), see
their record, record an answer given on paper, by phone or by email, or one guardian's whole
slip at once. Staff and admins only: marketing users see nothing about individual children.

Thin views over `portal.pupils`. Every page works as a plain GET or POST-redirect; htmx
(not a boosted navigation) gets the same partials: the live search results, and the record
section with the answer forms after a save or an error. What was recorded shows in a banner
at the top of the answers, where the form was: the redirect lands there (#record-answers) and
htmx swaps it in place. Marking a pupil as left (or back on roll) is a whole-page form whose
confirmation is a banner at the top of the page.

The forms only parse what comes back (the templates write the GOV.UK markup). Which guardian
and purpose may be chosen is for the domain (`pupils.record_answer`) to decide, since another
school's ids must answer 404, not an error message: here they are only parsed as numbers.
"""

from __future__ import annotations

from datetime import date

from flask import request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from .. import paper, pupils
from ..ledger import LedgerError
from ..models import Decision
from ..types import uk_date
from ..web.access import staff_required
from ..web.filters import channel_words
from ..web.forms import PortalForm, strip
from ..web.hypermedia import confirmation, page_or_fragment, saved, whole_page
from ..web.incoming import BadInput, parse_id
from . import bp
from .nav import ADMIN, STAFF, current_school_id, current_staff
from .paper import as_of, cells, recorded_words

SEARCH_PAGE = "staff/pupils/search.html"
RESULTS = "staff/pupils/_partials/results.html"
PUPIL_PAGE = "staff/pupils/pupil.html"
RECORD = "staff/pupils/_partials/record.html"
SAVED_CATEGORY = "pupil-record"
LEFT_CATEGORY = "pupil-left"
SAID = {
    Decision.GRANT.value: "yes to",
    Decision.WITHDRAW.value: "no to",
    Decision.OBJECT.value: "an objection to",
    Decision.LIFT_OBJECTION.value: "the withdrawal of their objection to",
    Decision.UPHELD.value: "the school's upholding of their objection to",
    Decision.NOT_UPHELD.value: "the school's not upholding their objection to",
}


# --- the forms -----------------------------------------------------------------------------


class SearchForm(PortalForm):
    """Find a pupil (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField("Name", filters=[strip])
    class_name = StringField("Class", filters=[strip])  # one of the school's classes


class AnswerForm(PortalForm):
    """An answer a guardian gave on paper, by phone or by email."""

    guardian = RadioField(
        "Who gave the answer",
        coerce=parse_id,
        validate_choice=False,
        validators=[DataRequired(message="Choose who gave the answer")],
    )
    purpose = SelectField(
        "Which choice",
        coerce=parse_id,
        validate_choice=False,
        validators=[DataRequired(message="Choose which choice the answer is about")],
    )
    decision = RadioField(
        "What they said",
        validate_choice=False,
        validators=[
            DataRequired(message="Choose what they said"),
            AnyOf([d.value for d in Decision], message="Choose one of the answers shown"),
        ],
    )
    channel = RadioField(
        "How they gave it",
        validate_choice=False,
        validators=[
            DataRequired(message="Choose how the answer was given"),
            AnyOf(pupils.STAFF_CHANNELS, message="Choose paper, phone or email"),
        ],
    )
    note = TextAreaField(
        "Note (optional)",
        filters=[strip],
        validators=[
            Optional(),
            Length(
                max=pupils.MAX_NOTE,
                message=f"The note must be {pupils.MAX_NOTE} characters or fewer",
            ),
        ],
    )


class SlipForm(PortalForm):
    """One guardian's answers to every choice at once; the cells are read from the form by
    name (`paper.is_cell`)."""

    guardian = HiddenField()
    channel = StringField()
    note = TextAreaField(filters=[strip])


class LeftForm(PortalForm):
    """The day a pupil left (a GOV.UK date input), and the admin's confirmation."""

    day = StringField(filters=[strip])
    month = StringField(filters=[strip])
    year = StringField(filters=[strip])
    confirm = BooleanField()

    def left_on(self) -> date | None:
        """The date given, or None with the problem added to `errors_found`."""
        self.errors_found: dict[str, str] = {}
        parts = (self.day.data or "", self.month.data or "", self.year.data or "")
        if not all(parts):
            self.errors_found["left_on"] = "Enter the date they left, as day, month and year"
            found = None
        else:
            try:
                found = date(int(parts[2]), int(parts[1]), int(parts[0]))
            except ValueError:
                self.errors_found["left_on"] = "Enter a real date, like 21 7 2026"
                found = None
        if not self.confirm.data:
            self.errors_found["confirm"] = "Tick the box to confirm they have left"
        return found if not self.errors_found else None


# --- finding a pupil -----------------------------------------------------------------------


@bp.get("/pupils", endpoint="pupils")
@staff_required(ADMIN, STAFF)
def pupils_page() -> Response:
    school_id = current_school_id()
    form = SearchForm(formdata=request.args)
    search = pupils.find_pupils(
        school_id, query=form.q.data or "", class_name=form.class_name.data or ""
    )
    classes = pupils.class_names(school_id, current_user.school_generation)
    return page_or_fragment(SEARCH_PAGE, RESULTS, form=form, classes=classes, search=search)


# --- a pupil's record ----------------------------------------------------------------------


def _blank_form() -> AnswerForm:
    return AnswerForm(formdata=None)


@bp.get("/pupils/<int:pupil_id>")
@staff_required(ADMIN, STAFF)
def pupil(pupil_id: int) -> Response:
    record = pupils.pupil_record(current_school_id(), pupil_id)
    # The whole page shows the confirmation of what was just recorded without JavaScript.
    return page_or_fragment(
        PUPIL_PAGE, RECORD, record=record, form=_blank_form(),
        saved=confirmation(SAVED_CATEGORY), left_saved=confirmation(LEFT_CATEGORY),
        left_form=LeftForm(formdata=None), left_problems={},
    )  # fmt: skip


@bp.post("/pupils/<int:pupil_id>/answers")
@staff_required(ADMIN, STAFF)
def record_answer(pupil_id: int) -> Response:
    school_id = current_school_id()
    record = pupils.pupil_record(school_id, pupil_id)  # 404 unless a pupil of this school
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            pupils.record_answer(
                current_staff().id,
                pupil_id,
                form.guardian.data,  # DataRequired: an id (parse_id)
                form.purpose.data,
                form.decision.data or "",
                form.channel.data or "",
                form.note.data,
            )
        except pupils.AnswerProblem as problem:
            for name, message in problem.problems.items():
                form[name].errors.append(message)
        except LedgerError as refused:
            form.decision.errors.append(f"The answer could not be recorded: {refused}")
        else:
            return _after_saving(record, form)
    return page_or_fragment(
        PUPIL_PAGE, RECORD, status=400, record=record, form=form, saved=None,
        left_form=LeftForm(formdata=None), left_problems={},
    )  # fmt: skip


def _after_saving(record: pupils.PupilRecord, form: AnswerForm) -> Response:
    contact = record.contact(form.guardian.data or 0)
    purpose = record.purpose(form.purpose.data or 0)
    who = contact.name if contact else "The guardian"
    what = purpose.title if purpose else "this choice"
    message = (
        f"Recorded: {who} gave {SAID.get(form.decision.data or '', '')} {what} "
        f"for {record.pupil.forename}, {channel_words(form.channel.data or '')}."
    )
    return _after_answering(record, message)


def _after_answering(record: pupils.PupilRecord, message: str) -> Response:
    """The record again, with what was recorded in view: htmx gets the region; a plain
    request a redirect to the record's answers, where the banner is."""
    pupil_id = record.pupil.id
    return saved(
        message,
        fragment=RECORD,
        redirect_to=url_for(".pupil", pupil_id=pupil_id, _anchor="record-answers"),
        category=SAVED_CATEGORY,
        form=_blank_form(),
        fragment_context=lambda: {"record": pupils.pupil_record(current_school_id(), pupil_id)},
    )


@bp.post("/pupils/<int:pupil_id>/slip")
@staff_required(ADMIN, STAFF)
def record_slip(pupil_id: int) -> Response:
    school_id = current_school_id()
    record = pupils.pupil_record(school_id, pupil_id)  # 404 unless a pupil of this school
    form = SlipForm()
    guardian_id = parse_id(form.guardian.data)
    if guardian_id is None:
        raise BadInput("This form is not one the portal made. Open the page again.")
    values = cells()
    problems: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            done = pupils.record_slip(
                current_staff().id,
                pupil_id,
                guardian_id,
                values,
                as_of=as_of(),
                channel=form.channel.data or "",
                note=form.note.data,
            )
        except paper.SlipProblem as problem:
            problems = problem.problems
        except LedgerError as refused:
            problems = {"note": f"The answers could not be recorded: {refused}"}
        else:
            row = record.slips.row(pupil_id, guardian_id) if record.slips else None
            who = (row.name if row else "") or "the parent or carer"
            source = (
                f"from {who} for {record.pupil.forename}, {channel_words(form.channel.data or '')}"
            )
            return _after_answering(record, recorded_words(done, source))
    # Read again: the answers as they stand now, and a new point in the ledger to check
    # against, so that sending the slip again after checking records what is still changed.
    return page_or_fragment(
        PUPIL_PAGE, RECORD, status=400, record=pupils.pupil_record(school_id, pupil_id),
        form=_blank_form(), saved=None, left_form=LeftForm(formdata=None), left_problems={},
        slip_guardian=guardian_id, slip_values=values, slip_problems=problems, slip_form=form,
    )  # fmt: skip


# --- leaving -------------------------------------------------------------------------------


@bp.post("/pupils/<int:pupil_id>/left")
@staff_required(ADMIN)
def pupil_left(pupil_id: int) -> Response:
    school_id = current_school_id()
    record = pupils.pupil_record(school_id, pupil_id)  # 404 unless a pupil of this school
    form = LeftForm()
    left_on = form.left_on()
    problems = dict(form.errors_found)
    if left_on is not None:
        try:
            left = pupils.mark_left(current_staff().id, pupil_id, left_on)
        except pupils.LeavingProblem as problem:
            problems[problem.field] = str(problem)
        else:
            made = (
                f"{left.tasks} task{'s' if left.tasks != 1 else ''} for what the school "
                "promised when a pupil leaves"
                if left.tasks
                else "no tasks: every purpose keeps its data for its set time"
            )
            return _after_leaving(
                record,
                f"Marked {record.pupil.forename} {record.pupil.surname} as left on "
                f"{uk_date(left_on)}: {made}.",
            )
    return whole_page(
        PUPIL_PAGE, status=400, record=record, form=_blank_form(), saved=None,
        left_form=form, left_problems=problems,
    )  # fmt: skip


@bp.post("/pupils/<int:pupil_id>/back-on-roll")
@staff_required(ADMIN)
def pupil_back_on_roll(pupil_id: int) -> Response:
    school_id = current_school_id()
    record = pupils.pupil_record(school_id, pupil_id)
    try:
        back = pupils.back_on_roll(current_staff().id, pupil_id)
    except pupils.LeavingProblem as problem:
        return whole_page(
            PUPIL_PAGE, status=400, record=record, form=_blank_form(), saved=None,
            left_form=LeftForm(formdata=None), left_problems={problem.field: str(problem)},
        )  # fmt: skip
    removed = f" ({back.tasks} open leaving task{'s' if back.tasks != 1 else ''} removed)"
    return _after_leaving(
        record,
        f"{record.pupil.forename} {record.pupil.surname} is on roll again"
        f"{removed if back.tasks else ''}.",
    )


def _after_leaving(record: pupils.PupilRecord, message: str) -> Response:
    """A redirect to the record, whose banner at the top says what changed (the leaving form
    is a whole-page form: no htmx)."""
    pupil_id = record.pupil.id
    return saved(
        message,
        fragment=RECORD,
        redirect_to=url_for(".pupil", pupil_id=pupil_id),
        category=LEFT_CATEGORY,
        trigger=None,
        form=_blank_form(),
        fragment_context=lambda: {"record": pupils.pupil_record(current_school_id(), pupil_id)},
    )
