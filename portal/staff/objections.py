"""Objections to review, for admins: the open ones with the date each is due, the ones
answered lately, and one objection's page where the outcome is recorded (`portal.objections`).
Recording is a POST that redirects to the list with a confirmation; a refused one shows the
page again with the reason at the top and beside the field."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextArea
from werkzeug.wrappers import Response
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from .. import daily, objections
from ..web.access import staff_required
from ..web.forms import PortalForm, strip
from ..web.hypermedia import confirmation, page_or_fragment, saved, whole_page
from . import bp
from .nav import ADMIN, current_school_id, current_staff

LIST_PAGE = "staff/objections/objections.html"
LIST = "staff/objections/_partials/list.html"
PAGE = "staff/objections/objection.html"
SAVED_CATEGORY = "objections"


class OutcomeForm(PortalForm):
    outcome = RadioField(
        "What is the outcome?",
        widget=GovRadioInput(),
        choices=[
            SelectChoice("upheld", "Upheld: the school stops this for the child"),
            SelectChoice(
                "not_upheld",
                "Not upheld: the school has compelling grounds to go on, written below",
            ),
        ],
        validators=[DataRequired(message="Choose whether the objection is upheld")],
    )
    reasons = TextAreaField(
        "Reasons, for the family",
        widget=GovTextArea(),
        filters=[strip],
        description=(
            "The family receives these words by email and sees them on their child's page. "
            "Needed when the objection is not upheld."
        ),
        validators=[
            Length(
                max=objections.MAX_REASONS,
                message=f"The reasons must be {objections.MAX_REASONS:,} characters or fewer",
            )
        ],
    )
    submit = SubmitField("Record the outcome", widget=GovSubmitInput())


def _lists(school_id: int) -> dict[str, Any]:
    return {
        "open": objections.open_objections(school_id),
        "answered": objections.answered_objections(school_id),
        "today": daily.today(),
    }


@bp.get("/objections", endpoint="objections")
@staff_required(ADMIN)
def objections_page() -> Response:
    return page_or_fragment(
        LIST_PAGE, LIST, saved=confirmation(SAVED_CATEGORY), **_lists(current_school_id())
    )


@bp.get("/objections/<int:seq>", endpoint="objection")
@staff_required(ADMIN)
def objection_page(seq: int) -> str:
    found = objections.get_objection(current_school_id(), seq)
    return render_template(
        PAGE, objection=found, form=OutcomeForm(), today=daily.today(), problem=None
    )


@bp.post("/objections/<int:seq>", endpoint="record_outcome")
@staff_required(ADMIN)
def record_outcome(seq: int) -> Response:
    school_id = current_school_id()
    found = objections.get_objection(school_id, seq)
    form = OutcomeForm()
    problem = None
    if form.validate_on_submit():
        upheld = form.outcome.data == "upheld"
        try:
            objections.record_outcome(
                current_staff().id, school_id, seq, upheld=upheld, reasons=form.reasons.data or ""
            )
        except objections.OutcomeRefused as refused:
            problem = str(refused)
        else:
            said = "upheld" if upheld else "not upheld"
            who = found.guardian_name
            return saved(
                f"Recorded: {who}'s objection to {found.purpose_title.lower()} is {said}. "
                "The family has been told.",
                fragment=LIST,
                redirect_to=url_for(".objections"),
                category=SAVED_CATEGORY,
                fragment_context=lambda: _lists(school_id),
            )
    return whole_page(
        PAGE, status=400, objection=found, form=form, today=daily.today(), problem=problem
    )
