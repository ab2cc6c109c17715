"""Invitations and reminders to parents and carers, for admins: choose the audience, send,
watch the progress (htmx polls the progress fragment until the batch is done; without
JavaScript a Refresh link reloads the page)."""

from __future__ import annotations

from typing import Any

from flask import flash, get_flashed_messages, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from .. import invitations
from ..extensions import htmx
from ..invitations import Audience, AudienceSizes
from ..web.access import staff_required
from . import bp
from .nav import ADMIN, current_school_id, current_staff
from .people_forms import InvitationForm

FLASH = "invitations"


def _fragment_wanted() -> bool:
    """An htmx request of the progress fragment itself (not a boosted page load)."""
    return bool(htmx) and not htmx.boosted


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _form(sizes: AudienceSizes, form: InvitationForm | None = None) -> InvitationForm:
    form = form or InvitationForm()
    people = "parent or carer", "parents and carers"
    form.audience.choices = [
        SelectChoice(Audience.ALL.value, f"All parents and carers ({_plural(sizes.all, *people)})"),
        SelectChoice(
            Audience.CLASS.value, "Parents and carers of one class (choose the class below)"
        ),
        SelectChoice(
            Audience.NEEDS_ANSWER.value,
            "Only those with choices to answer or renew, as a reminder "
            f"({_plural(sizes.needs_answer, *people)})",
        ),
    ]
    form.class_name.choices = [SelectChoice("", "Choose a class")] + [
        SelectChoice(name, f"{name} ({_plural(count, *people)})")
        for name, count in sizes.classes.items()
    ]
    return form


def _page(form: InvitationForm, status: int = 200) -> tuple[str, int]:
    school_id = current_school_id()
    return render_template(
        "staff/invitations.html",
        form=form,
        batches=invitations.recent(school_id),
        messages=get_flashed_messages(category_filter=[FLASH]),
    ), status


@bp.route("/invitations", methods=["GET", "POST"], endpoint="invitations")
@staff_required(ADMIN)
def invitations_page() -> Any:
    """The form and the earlier batches; POST sends a batch."""
    form = _form(invitations.audience_sizes(current_school_id()))
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        return _page(form, 400)
    audience = form.audience.data or ""
    try:
        batch = invitations.send(current_staff(), audience, form.class_name.data or None)
    except invitations.RecentBatch as repeat:
        flash(str(repeat), FLASH)
        return redirect(url_for(".invitation", batch_id=repeat.batch.id))
    except invitations.InvitationError as problem:
        field = form.class_name if audience == Audience.CLASS else form.audience
        field.errors = [str(problem)]
        return _page(form, 400)
    flash(
        f"{_plural(batch.total, 'invitation is', 'invitations are')} on the way. "
        "They are sent in the background: you can leave this page.",
        FLASH,
    )
    return redirect(url_for(".invitation", batch_id=batch.id))


@bp.get("/invitations/<int:batch_id>")
@staff_required(ADMIN)
def invitation(batch_id: int) -> str | Response:
    progress = invitations.progress(current_school_id(), batch_id)
    if _fragment_wanted():
        return render_template(
            "staff/_partials/invitation_progress.html", progress=progress, fragment=True
        )
    return render_template(
        "staff/invitation.html",
        progress=progress,
        messages=get_flashed_messages(category_filter=[FLASH]),
        fragment=False,
    )
