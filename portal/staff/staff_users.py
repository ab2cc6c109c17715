"""The school's staff users, for admins: list, add, change role, deactivate (with a
confirmation page). Each change is a POST that redirects back with a confirmation; a refused
one shows the list again with the reason at the top and beside the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, get_flashed_messages, redirect, url_for
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextInput
from werkzeug.wrappers import Response
from wtforms import HiddenField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from .. import second_factor, staff_users
from ..models import StaffUser
from ..web.access import fresh_second_factor, staff_required
from ..web.forms import PortalForm, email_address, strip
from ..web.hypermedia import whole_page
from . import bp
from .nav import ADMIN, current_school_id, current_staff

PAGE = "staff/staff_users/users.html"
DEACTIVATE_PAGE = "staff/staff_users/deactivate.html"
RESET_PAGE = "staff/staff_users/reset_factor.html"
FLASH = "users"
ROLE_CHOICES = [
    SelectChoice("admin", "Admin: everything, including staff users, the roster and invitations"),
    SelectChoice("staff", "Staff: photo check, pupils' records and take-downs"),
    SelectChoice("marketing", "Marketing: the marketing export only"),
]


class AddUserForm(PortalForm):
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        filters=[strip],
        validators=[
            DataRequired(message="Enter their email address"),
            Length(max=254, message="The email address must be 254 characters or fewer"),
            email_address("name@school.example"),
        ],
    )
    name = StringField(
        "Full name",
        widget=GovTextInput(),
        filters=[strip],
        validators=[
            DataRequired(message="Enter their name"),
            Length(
                max=staff_users.MAX_NAME,
                message=f"The name must be {staff_users.MAX_NAME} characters or fewer",
            ),
        ],
    )
    role = RadioField(
        "Role",
        widget=GovRadioInput(),
        choices=ROLE_CHOICES,
        validators=[DataRequired(message="Choose a role")],
    )
    submit = SubmitField("Add staff user", widget=GovSubmitInput())


class RoleForm(PortalForm):
    role = RadioField(
        "Role",
        widget=GovRadioInput(),
        choices=ROLE_CHOICES,
        validators=[DataRequired(message="Choose a role")],
    )
    submit = SubmitField("Change role", widget=GovSubmitInput())


class DeactivateForm(PortalForm):
    """First press: the confirmation page. Second press (confirm=yes): deactivate."""

    confirm = HiddenField()
    submit = SubmitField("Deactivate", widget=GovSubmitInput())


@dataclass(frozen=True)
class Problem:
    """A refused change to one user, shown in the error summary and beside the field."""

    user_id: int
    field: str  # "role" or "deactivate"
    message: str

    @property
    def anchor(self) -> str:
        return f"user-{self.user_id}-{self.field}"


def _role_forms(users: list[StaffUser], posted: tuple[int, RoleForm] | None) -> dict[int, Any]:
    """Each active user's role form, with their role chosen; the posted one as it was sent."""
    forms: dict[int, Any] = {}
    for user in users:
        if posted is not None and posted[0] == user.id:
            forms[user.id] = posted[1]
        elif user.active:
            forms[user.id] = RoleForm(formdata=None, role=user.role)
    return forms


def _page(
    *,
    add_form: AddUserForm | None = None,
    posted: tuple[int, RoleForm] | None = None,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    users = staff_users.staff_of(current_school_id())
    return whole_page(
        PAGE,
        status=status,
        users=users,
        add_form=add_form or AddUserForm(formdata=None),
        role_forms=_role_forms(users, posted),
        deactivate_form=DeactivateForm(formdata=None),
        factors=second_factor.summaries(current_school_id()),
        problem=problem,
        me=current_staff(),
        messages=get_flashed_messages(category_filter=[FLASH]),
    )


@bp.get("/users", endpoint="users")
@staff_required(ADMIN)
@fresh_second_factor(back="staff.users")
def users_page() -> Response:
    return _page()


@bp.post("/users", endpoint="add_user")
@staff_required(ADMIN)
@fresh_second_factor(back="staff.users")
def add_user() -> Response:
    form = AddUserForm()
    if not form.validate_on_submit():
        return _page(add_form=form, status=400)
    try:
        added = staff_users.add(
            current_staff(), form.email.data or "", name=form.name.data or "", role=form.role.data
        )
    except staff_users.StaffUserError as refused:
        field = getattr(form, refused.field or "email")
        field.errors = [str(refused)]
        return _page(add_form=form, status=400)
    user = added.user
    verb = "is back, as" if added.reactivated else "was added as"
    flash(
        f"{user.name or user.email} {verb} {user.role}. They can sign in with {user.email}, "
        "and have been emailed how.",
        FLASH,
    )
    return redirect(url_for(".users", _anchor=f"user-{user.id}"))


@bp.post("/users/<int:user_id>/role", endpoint="change_role")
@staff_required(ADMIN)
@fresh_second_factor(back="staff.users")
def change_role(user_id: int) -> Response:
    me = current_staff()
    user = staff_users.get(current_school_id(), user_id)  # 404 for another school's user
    form = RoleForm()
    if not form.validate_on_submit():
        message = next(iter(form.role.errors or ["Choose a role"]))
        return _page(posted=(user.id, form), problem=Problem(user.id, "role", message), status=400)
    try:
        staff_users.change_role(me, user.id, form.role.data)
    except staff_users.StaffUserError as refused:
        return _page(
            posted=(user.id, form), problem=Problem(user.id, "role", str(refused)), status=400
        )
    flash(f"{user.name or user.email} is now {user.role}.", FLASH)
    if user.id == me.id and user.role != ADMIN:
        # They can no longer manage staff users: take them to their workspace.
        return redirect(url_for(".home"))
    return redirect(url_for(".users", _anchor=f"user-{user.id}"))


@bp.post("/users/<int:user_id>/deactivate", endpoint="deactivate_user")
@staff_required(ADMIN)
@fresh_second_factor(back="staff.users")
def deactivate_user(user_id: int) -> Response:
    me = current_staff()
    user = staff_users.get(current_school_id(), user_id)  # 404 for another school's user
    form = DeactivateForm()
    if not form.validate_on_submit() or form.confirm.data != "yes":
        # The first press asks to confirm, on a page of its own.
        return whole_page(DEACTIVATE_PAGE, user=user, form=form, me=me, problem=None)
    try:
        done = staff_users.deactivate(me, user.id)
    except staff_users.StaffUserError as refused:
        return whole_page(
            DEACTIVATE_PAGE, status=400, user=user, form=form, me=me, problem=str(refused)
        )
    if done.user.id == me.id:
        # Their own session has just ended: the next page is the sign-in page.
        return redirect(url_for("auth.sign_in"))
    who = user.name or user.email
    if done.already:
        flash(f"{who} was already deactivated.", FLASH)
    else:
        sessions = done.sessions_ended
        ended = f" {sessions} open session{'s' if sessions != 1 else ''} ended." if sessions else ""
        flash(f"{who} was deactivated and can no longer sign in.{ended}", FLASH)
    return redirect(url_for(".users", _anchor=f"user-{user.id}"))


class ResetFactorForm(PortalForm):
    """First press: the confirmation page. Second press (confirm=yes): reset."""

    confirm = HiddenField()
    submit = SubmitField("Reset second factor", widget=GovSubmitInput())


@bp.post("/users/<int:user_id>/reset-factor", endpoint="reset_factor")
@staff_required(ADMIN)
@fresh_second_factor(back="staff.users")
def reset_factor(user_id: int) -> Response:
    """Another admin resets a staff user's second factor (never their own): their factors
    stop working, their sessions end and they are emailed."""
    me = current_staff()
    user = staff_users.get(current_school_id(), user_id)  # 404 for another school's user
    form = ResetFactorForm()
    if user.id == me.id:
        problem = (
            "You cannot reset your own second factor: ask another admin of the school, or "
            "use one of your recovery codes"
        )
        return whole_page(RESET_PAGE, status=400, user=user, form=form, me=me, problem=problem)
    if not form.validate_on_submit() or form.confirm.data != "yes":
        return whole_page(RESET_PAGE, user=user, form=form, me=me, problem=None)
    try:
        done = second_factor.reset(me, user.id)
    except second_factor.ResetRefused as refused:
        return whole_page(RESET_PAGE, status=400, user=user, form=form, me=me, problem=str(refused))
    who = user.name or user.email
    sessions = done.sessions_ended
    ended = f" {sessions} open session{'s' if sessions != 1 else ''} ended." if sessions else ""
    flash(
        f"{who}'s second factor was reset: they set up a new one at their next sign-in, and "
        f"have been emailed.{ended}",
        FLASH,
    )
    return redirect(url_for(".users", _anchor=f"user-{user.id}"))
