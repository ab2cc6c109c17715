"""Pupil records: find a pupil, see their record, record an answer given on paper, by phone
or by email. Staff and admins only: marketing users see nothing about individual children.

Thin views over `portal.records`. Every page works as a plain GET or POST-redirect; htmx
(not a boosted navigation) gets the same partials: the live search results, and the record
section with the answer form after a save or an error.
"""

from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from .. import records
from ..extensions import htmx
from ..ledger import LedgerError
from ..models import Decision
from ..web.access import staff_required
from ..web.filters import channel_words
from . import bp
from .nav import ADMIN, STAFF, current_school_id, current_staff
from .pupil_forms import AnswerForm, SearchForm

SAVED_CATEGORY = "pupil-record"
SAVED_EVENT = "consent-saved"  # as on the parent pages, for scripts that listen
SAID = {
    Decision.GRANT.value: "yes to",
    Decision.WITHDRAW.value: "no to",
    Decision.OBJECT.value: "an objection to",
    Decision.LIFT_OBJECTION.value: "the withdrawal of their objection to",
}


def _fragment_wanted() -> bool:
    """An htmx request from the page's own form (not a boosted page load)."""
    return bool(htmx) and not htmx.boosted


# --- finding a pupil -----------------------------------------------------------------------


@bp.get("/pupils")
@staff_required(ADMIN, STAFF)
def pupils() -> str:
    school_id = current_school_id()
    form = SearchForm(formdata=request.args)
    classes = records.class_names(school_id)
    search = records.find_pupils(
        school_id, query=form.q.data or "", class_name=form.class_name.data or ""
    )
    if _fragment_wanted():
        return render_template("staff/_partials/pupil_results.html", search=search, fragment=True)
    return render_template(
        "staff/pupils.html", form=form, classes=classes, search=search, fragment=False
    )


# --- a pupil's record ----------------------------------------------------------------------


def _blank_form() -> AnswerForm:
    return AnswerForm(formdata=None)


@bp.get("/pupils/<int:pupil_id>")
@staff_required(ADMIN, STAFF)
def pupil(pupil_id: int) -> str:
    record = records.pupil_record(current_school_id(), pupil_id)
    if _fragment_wanted():
        return _section(record, _blank_form())
    saved = next(iter(get_flashed_messages(category_filter=[SAVED_CATEGORY])), None)
    return render_template(
        "staff/pupil.html", record=record, form=_blank_form(), saved=saved, fragment=False
    )


@bp.post("/pupils/<int:pupil_id>/answers")
@staff_required(ADMIN, STAFF)
def record_answer(pupil_id: int) -> Any:
    school_id = current_school_id()
    record = records.pupil_record(school_id, pupil_id)  # 404 unless a pupil of this school
    form = AnswerForm()
    if form.validate_on_submit():
        try:
            records.record_answer(
                current_staff().id,
                pupil_id,
                int(form.guardian.data),  # DataRequired: an id
                int(form.purpose.data),
                form.decision.data or "",
                form.channel.data or "",
                form.note.data,
            )
        except records.AnswerProblem as problem:
            for name, message in problem.problems.items():
                form[name].errors.append(message)
        except LedgerError as refused:
            form.decision.errors.append(f"The answer could not be recorded: {refused}")
        else:
            return _after_saving(record, form)
    if _fragment_wanted():
        return _section(record, form), 400
    return render_template(
        "staff/pupil.html", record=record, form=form, saved=None, fragment=False
    ), 400


def _after_saving(record: records.PupilRecord, form: AnswerForm) -> Any:
    contact = record.contact(form.guardian.data or 0)
    purpose = record.purpose(form.purpose.data or 0)
    who = contact.name if contact else "The guardian"
    what = purpose.title if purpose else "this choice"
    saved = (
        f"Recorded: {who} gave {SAID.get(form.decision.data or '', '')} {what} "
        f"for {record.pupil.forename}, {channel_words(form.channel.data or '')}."
    )
    if _fragment_wanted():
        fresh = records.pupil_record(current_school_id(), record.pupil.id)
        response: Response = current_app.make_response(_section(fresh, _blank_form(), saved=saved))
        response.headers["HX-Trigger"] = SAVED_EVENT
        return response
    flash(saved, SAVED_CATEGORY)
    return redirect(url_for(".pupil", pupil_id=record.pupil.id))


def _section(record: records.PupilRecord, form: AnswerForm, *, saved: str | None = None) -> str:
    return render_template(
        "staff/_partials/pupil_record.html",
        record=record,
        form=form,
        saved=saved,
        live=saved,
        fragment=True,
    )
