"""The parent journey's pages. Thin: parse the form, call one function of `choices`, render.

Every state change is a plain form POST that redirects back to the same place with a
confirmation; htmx sends the same forms and gets just the changed card back, with the
confirmation for the live region.
"""

from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response

from .. import choices, schools
from ..extensions import htmx
from ..ledger import LedgerError
from ..models import Decision
from ..web.access import guardian_required
from . import bp
from .forms import DecisionForm, MarketingForm

SAVED = {
    Decision.GRANT: "You said yes",
    Decision.WITHDRAW: "You said no",
    Decision.OBJECT: "You objected",
    Decision.LIFT_OBJECTION: "You withdrew your objection",
}
STALE = (
    "The school changed the wording of this choice while the page was open. "
    "Read the new wording, then answer again."
)


def _guardian_id() -> int:
    return int(current_user.guardian.id)


def _fragment_wanted() -> bool:
    """An htmx request from a card's own form (not a boosted page load)."""
    return bool(htmx) and not htmx.boosted


def _family() -> choices.Family:
    """The signed-in guardian's schools, children and notices (one query), kept for the
    pages' footer links (`family_schools`) so that they are not read again."""
    family = choices.family_of(_guardian_id())
    g.family_schools = family.schools
    return family


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --- your children -------------------------------------------------------------------------


@bp.get("")
@guardian_required
def home() -> str:
    summary = choices.family_summary(_guardian_id(), family=_family())
    return render_template("parent/home.html", summary=summary)


# --- a child's page ------------------------------------------------------------------------


def _saved_messages() -> dict[str, str]:
    flashed: list[tuple[str, str]] = get_flashed_messages(with_categories=True)  # type: ignore[assignment]
    return {category: message for category, message in flashed if category.startswith("purpose-")}


@bp.get("/children/<int:pupil_id>")
@guardian_required
def child(pupil_id: int) -> str:
    page = choices.child_page(_guardian_id(), pupil_id, family=_family())
    return render_template(
        "parent/child.html", page=page, saved_messages=_saved_messages(), problem=None
    )


@bp.post("/children/<int:pupil_id>/choices/<int:purpose_id>")
@guardian_required
def decide(pupil_id: int, purpose_id: int) -> Any:
    guardian_id = _guardian_id()
    form = DecisionForm()
    family = _family()
    # 404 unless this is their child and the purpose a choice on the child's page.
    target = choices.answerable(guardian_id, pupil_id, purpose_id, family=family)
    status, message = 400, None
    if form.validate_on_submit():
        others = [pid for pid in form.also.data or [] if pid != pupil_id]
        try:
            choices.decide(
                guardian_id,
                [pupil_id, *others],
                purpose_id,
                form.decision.data or "",
                note=form.note.data if form.decision.data == Decision.OBJECT else None,
                purpose_version=form.purpose_version.data,
                notice_version=form.notice_version.data,
                family=family,
            )
        except choices.StaleChoice:
            status, message = 409, STALE
        except LedgerError:
            message = "That answer does not fit this choice. Choose one of the answers shown."
        else:
            names = [target.pupil.forename] + [
                s.forename for s in target.siblings if s.id in others
            ]
            saved = f"Saved. {SAVED[Decision(form.decision.data)]} for {_names(names)}."
            return _after_decision(pupil_id, purpose_id, saved, family)
    else:
        message = next(iter(e for errors in form.errors.values() for e in errors), None)
    problem = {
        "purpose": purpose_id,
        "message": message,
        "field": _problem_field(form),
        "note": form.note.data or "",  # what they typed is kept, not lost to the error
    }
    page = choices.child_page(guardian_id, pupil_id, family=family)
    if _fragment_wanted():
        return _card(page, purpose_id, problem=problem), status
    return render_template(
        "parent/child.html", page=page, saved_messages={}, problem=problem
    ), status


def _problem_field(form: DecisionForm) -> str:
    return "note" if form.note.errors else "answer"


SAVED_EVENT = "consent-saved"  # an htmx event on every save, for scripts that listen


def _after_decision(pupil_id: int, purpose_id: int, saved: str, family: choices.Family) -> Any:
    if _fragment_wanted():
        page = choices.child_page(_guardian_id(), pupil_id, family=family)
        response: Response = current_app.make_response(_card(page, purpose_id, saved=saved))
        response.headers["HX-Trigger"] = SAVED_EVENT
    else:
        flash(saved, f"purpose-{purpose_id}")
        response = redirect(url_for(".child", pupil_id=pupil_id, _anchor=f"purpose-{purpose_id}"))
    return response


def _card(
    page: choices.ChildPage,
    purpose_id: int,
    *,
    saved: str | None = None,
    problem: dict[str, Any] | None = None,
) -> str:
    item = next(i for i in page.consent + page.objection if i.purpose.id == purpose_id)
    return render_template(
        "parent/_partials/card.html",
        page=page,
        item=item,
        saved=saved,
        problem=problem,
        live=saved,
        fragment=True,
    )


# --- marketing -----------------------------------------------------------------------------


@bp.get("/schools/<string:slug>/marketing")
@guardian_required
def marketing(slug: str) -> str:
    school = schools.get_by_slug(slug)
    page = choices.marketing(_guardian_id(), school.id)
    saved = next(iter(get_flashed_messages(category_filter=["marketing"])), None)
    return render_template("parent/marketing.html", page=page, saved=saved, problem=None)


@bp.post("/schools/<string:slug>/marketing")
@guardian_required
def decide_marketing(slug: str) -> Any:
    guardian_id = _guardian_id()
    school = schools.get_by_slug(slug)
    page = choices.marketing(guardian_id, school.id)  # 404 unless linked to this school
    form = MarketingForm()
    problem = "Choose one of the answers shown."
    if form.validate_on_submit():
        purpose_id = int(form.purpose.data) if (form.purpose.data or "").isdigit() else None
        try:
            choices.decide_marketing(
                guardian_id,
                school.id,
                form.decision.data or "",
                purpose_id=purpose_id,
            )
        except LedgerError:
            pass
        else:
            saved = f"Saved. {SAVED[Decision(form.decision.data)]}."
            if form.decision.data == Decision.OBJECT:
                saved = "Saved. You objected to all direct marketing."
            if _fragment_wanted():
                page = choices.marketing(guardian_id, school.id)
                fragment = render_template(
                    "parent/_partials/marketing.html",
                    page=page,
                    saved=saved,
                    problem=None,
                    live=saved,
                    fragment=True,
                )
                return fragment, 200, {"HX-Trigger": SAVED_EVENT}
            flash(saved, "marketing")
            return redirect(url_for(".marketing", slug=slug, _anchor="marketing"))
    if _fragment_wanted():
        return render_template(
            "parent/_partials/marketing.html", page=page, saved=None, problem=problem, fragment=True
        ), 400
    return render_template("parent/marketing.html", page=page, saved=None, problem=problem), 400


# --- what you told us ----------------------------------------------------------------------


@bp.get("/history")
@guardian_required
def history() -> str:
    return render_template("parent/history.html", entries=choices.history(_guardian_id()))


@bp.context_processor
def family_schools() -> dict[str, Any]:
    """The schools of the signed-in guardian, for the notice and rights links on every page."""
    if not (current_user.is_authenticated and current_user.is_guardian):
        return {}
    schools = g.get("family_schools")  # read already by the view (`_family`)
    if schools is None:
        schools = choices.schools_of(_guardian_id())
    return {"family_schools": schools}
