"""Invitations and reminders to parents and carers, for admins: choose the audience, send,
watch the progress (htmx polls the progress fragment until the batch is done; without
JavaScript a Refresh link reloads the page)."""

from __future__ import annotations

from flask import flash, get_flashed_messages, redirect, request, url_for
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovSubmitInput
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError

from .. import invitations
from ..web.access import staff_required
from ..web.forms import PortalForm
from ..web.hypermedia import page_or_fragment, wants_fragment, whole_page
from . import bp
from .nav import ADMIN, current_school_id, current_staff

PAGE = "staff/invitations/invite.html"
BATCH_PAGE = "staff/invitations/batch.html"
PROGRESS = "staff/invitations/_partials/progress.html"
FLASH = "invitations"


class InvitationForm(PortalForm):
    audience = RadioField(
        "Who should get the invitation?",
        widget=GovRadioInput(),
        choices=[SelectChoice(a.value) for a in invitations.Audience],  # labels set by the view
        validators=[DataRequired(message="Choose who should get the invitation")],
    )
    class_name = SelectField(
        "Class",
        widget=GovSelect(),
        choices=[],  # set by the view
        validate_choice=False,
        description="Only for an invitation to the parents and carers of one class.",
    )
    submit = SubmitField("Send the invitations", widget=GovSubmitInput())

    def validate_class_name(self, field: SelectField) -> None:
        if self.audience.data == invitations.Audience.CLASS:
            names = [choice.value for choice in field.choices or [] if choice.value]  # type: ignore[union-attr]
            if not field.data:
                raise ValidationError("Choose a class")
            if field.data not in names:
                raise ValidationError("Choose one of the classes listed")


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _form(sizes: invitations.AudienceSizes) -> InvitationForm:
    form = InvitationForm()
    people = "parent or carer", "parents and carers"
    audience = invitations.Audience
    form.audience.choices = [
        SelectChoice(audience.ALL.value, f"All parents and carers ({_plural(sizes.all, *people)})"),
        SelectChoice(
            audience.CLASS.value, "Parents and carers of one class (choose the class below)"
        ),
        SelectChoice(
            audience.NEEDS_ANSWER.value,
            "Only those with choices to answer or renew, as a reminder "
            f"({_plural(sizes.needs_answer, *people)})",
        ),
    ]
    form.class_name.choices = [SelectChoice("", "Choose a class")] + [
        SelectChoice(name, f"{name} ({_plural(count, *people)})")
        for name, count in sizes.classes.items()
    ]
    return form


def _page(form: InvitationForm, status: int = 200) -> Response:
    return whole_page(
        PAGE,
        status=status,
        form=form,
        batches=invitations.recent(current_school_id()),
        messages=get_flashed_messages(category_filter=[FLASH]),
    )


@bp.route("/invitations", methods=["GET", "POST"], endpoint="invitations")
@staff_required(ADMIN)
def invitations_page() -> Response:
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
        field = form.class_name if audience == invitations.Audience.CLASS else form.audience
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
def invitation(batch_id: int) -> Response:
    """One batch's progress; htmx polls the progress region alone."""
    progress = invitations.progress(current_school_id(), batch_id)
    # The whole page shows the confirmation of the batch just sent (the poll leaves it).
    messages = [] if wants_fragment() else get_flashed_messages(category_filter=[FLASH])
    return page_or_fragment(BATCH_PAGE, PROGRESS, progress=progress, messages=messages)
