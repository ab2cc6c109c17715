"""The school's purposes (admins): the list, adding one (from a blank form, or from a
template of a common purpose whose kind of choice, lawful basis and rules it sets), changing
one (a new wording version when the title or description changes), retiring one, and the
translations of a purpose's wording (docs/translations-by-schools.md).

Every purpose id is looked up within the staff user's school: another school's answers 404.
Plain forms and redirects; a boosted request (htmx) gets the same whole page. The forms are in
purposes_forms.py.
"""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response

from .. import languages, purposes
from ..models import Purpose
from ..web.access import staff_required
from ..web.hypermedia import confirmation, whole_page
from . import bp
from .nav import ADMIN, current_school, current_school_id, current_staff
from .purposes_forms import (
    GUARDIAN_RULES,
    KINDS,
    LAWFUL_BASES,
    RENEWALS,
    SCOPES,
    EditPurposeForm,
    PurposeForm,
    RetireForm,
    TranslationForm,
)

FORM = "staff/purposes/form.html"
SAVED = "purpose-saved"  # the flash category of the confirmations
LABELS = {
    "kinds": KINDS,
    "lawful_bases": LAWFUL_BASES,
    "guardian_rules": GUARDIAN_RULES,
    "renewals": RENEWALS,
    "scopes": SCOPES,
}


def _answers(count: int) -> str:
    return f"{count} ‘yes’ answer{'' if count == 1 else 's'}"


@bp.get("/purposes", endpoint="purposes")
@staff_required(ADMIN)
def purpose_list() -> Response:
    everything = purposes.for_school(current_school(), active_only=False)
    return whole_page(
        "staff/purposes/purposes.html",
        active=[p for p in everything if p.active],
        retired=[p for p in everything if not p.active],
        saved=confirmation(SAVED),
        labels=LABELS,
    )


@bp.get("/purposes/templates", endpoint="purpose_templates")
@staff_required(ADMIN)
def purpose_templates() -> Response:
    """Choose a template of a common purpose to start from, or a blank form."""
    return whole_page("staff/purposes/templates.html", templates=purposes.TEMPLATES, labels=LABELS)


@bp.route("/purposes/new", methods=["GET", "POST"], endpoint="new_purpose")
@staff_required(ADMIN)
def new_purpose() -> Response:
    """A new purpose: from a blank form, or from the template `?template=KEY` (kept in the
    form as it is posted); another template key answers 404."""
    if request.method == "POST":
        form = PurposeForm()
        key = form.template.data or ""
    else:
        key = request.args.get("template", "")
    template = purposes.template(key) if key else None
    if request.method == "GET":
        form = PurposeForm(formdata=None, data=template.form_data() if template else None)
    if form.validate_on_submit():
        fixed = template.fixed() if template else None
        try:
            purpose = purposes.create(
                current_school_id(), form.entry(fixed), staff=current_staff(), template=template
            )
        except purposes.InvalidPurpose as exc:
            form.add_problems(exc.problems)
        else:
            flash(f"“{purpose.title}” is added. Families see it from now on.", SAVED)
            return redirect(url_for(".purposes"))
    status = 400 if request.method == "POST" else 200
    return whole_page(
        FORM, status=status, form=form, purpose=None, template=template, labels=LABELS
    )


def _saved_message(change: purposes.Change) -> str:
    purpose = change.purpose
    if change.outcome == "reworded":
        renewing = (
            f"{_answers(change.renewals)} to the earlier wording now "
            f"{'needs' if change.renewals == 1 else 'need'} renewing: families are asked for "
            "a fresh answer at their next visit."
            if change.renewals
            else "No ‘yes’ answers needed renewing."
        )
        return f"“{purpose.title}” is now version {purpose.version}. {renewing}"
    if change.outcome == "updated":
        return f"“{purpose.title}” is saved. Its wording did not change."
    return f"Nothing changed: “{purpose.title}” is as it was."


@bp.route("/purposes/<int:purpose_id>/edit", methods=["GET", "POST"], endpoint="edit_purpose")
@staff_required(ADMIN)
def edit_purpose(purpose_id: int) -> Response:
    school_id = current_school_id()
    purpose = purposes.get(school_id, purpose_id)
    form = EditPurposeForm(obj=purpose)
    if form.validate_on_submit():
        try:
            change = purposes.update(school_id, purpose_id, form.entry(), staff=current_staff())
        except purposes.InvalidPurpose as exc:
            form.add_problems(exc.problems)
        else:
            flash(_saved_message(change), SAVED)
            return redirect(url_for(".purposes"))
    status = 400 if request.method == "POST" else 200
    return _edit_page(form, purpose, status)


def _edit_page(form: EditPurposeForm, purpose: Purpose, status: int) -> Response:
    return whole_page(
        FORM,
        status=status,
        form=form,
        purpose=purpose,
        renewals=purposes.grants_to_renew(purpose),
        decisions=purposes.decision_count(purpose),
        answers=_answers,
    )


@bp.route("/purposes/<int:purpose_id>/retire", methods=["GET", "POST"], endpoint="retire_purpose")
@staff_required(ADMIN)
def retire_purpose(purpose_id: int) -> Response:
    """GET: are you sure? POST (the button on that page): retire it."""
    school_id = current_school_id()
    purpose = purposes.get(school_id, purpose_id)
    form = RetireForm()
    if form.validate_on_submit():
        change = purposes.retire(school_id, purpose_id, staff=current_staff())
        if change.outcome == "unchanged":
            flash(f"“{purpose.title}” was already retired.", SAVED)
        else:
            flash(
                f"“{purpose.title}” is retired: families no longer see it. Its decisions stay "
                "in the ledger.",
                SAVED,
            )
        return redirect(url_for(".purposes"))
    return whole_page(
        "staff/purposes/retire.html",
        form=form,
        purpose=purpose,
        decisions=purposes.decision_count(purpose),
        labels=LABELS,
    )


@bp.route(
    "/purposes/<int:purpose_id>/translations",
    methods=["GET", "POST"],
    endpoint="purpose_translations",
)
@staff_required(ADMIN)
def purpose_translations(purpose_id: int) -> Response:
    """The translations of a purpose's wording, each version's, and a form to add one of the
    current wording."""
    school_id = current_school_id()
    purpose = purposes.get(school_id, purpose_id)
    found = purposes.translations_of(purpose)
    translated = [t.language for t in found.get(purpose.version, [])]
    form = TranslationForm().for_languages(translated, purpose.version)
    if form.validate_on_submit():
        try:
            translation = purposes.translate(
                school_id,
                purpose_id,
                version=form.posted_version(),
                language=form.language.data or "",
                title=form.title.data or "",
                description=form.description.data or "",
                staff=current_staff(),
            )
        except purposes.InvalidPurpose as exc:
            form.add_problems(exc.problems)
        else:
            name = languages.get(translation.language).english
            flash(
                f"The {name} translation of “{purpose.title}” is added. Families whose pages "
                f"are in {name} read it from now on.",
                SAVED,
            )
            return redirect(url_for(".purpose_translations", purpose_id=purpose_id))
    return whole_page(
        "staff/purposes/translations.html",
        status=400 if request.method == "POST" else 200,
        form=form,
        purpose=purpose,
        translations=found,
        language_of=languages.get,
        saved=confirmation(SAVED),
    )
