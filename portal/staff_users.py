"""A school's staff users, managed by its admins: add, change role, deactivate.

Every function takes the acting admin and works only within their school: another school's
user is NotFound. Each change is written with its audit entry (`staff.add`, `staff.role`,
`staff.deactivate`) in one transaction.

A school never loses its last active admin: demoting or deactivating the only one is
refused (`LastAdmin`). The check runs after the school's active admins are locked (FOR
UPDATE on PostgreSQL; SQLite has a single writer), so two admins demoting each other at
the same moment cannot both succeed.

Deactivating a user ends every session they have open, at once: their next request finds
the session ended and is sent to sign in, and `signin.principals_for` no longer offers the
account, so they cannot sign in again.

A user added (or let back in) is emailed a welcome, through the outbox in the same
transaction (`WELCOME_TEMPLATE`, in English like every email to staff): who added them, the
school, their role, how to sign in, and that they set up a second factor at their first
sign-in. It carries no sign-in link: they ask for one on the sign-in page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from . import audit_log, emails, second_factor
from .database import writing
from .errors import NotFound, PortalError
from .extensions import db
from .mail import outbox
from .models import Role, StaffUser, UserSession
from .text import single_line_problem
from .types import utcnow

ROLES = tuple(r.value for r in Role)
MAX_NAME = 200
WELCOME_TEMPLATE = "staff_welcome"
WELCOME_SUBJECT = "{subject}"
# What each role may do, as the welcome email says it.
ROLE_WORDS = {
    Role.ADMIN: "everything, including staff users, the roster and invitations",
    Role.STAFF: "the photo check, pupils' records and take-downs",
    Role.MARKETING: "the marketing exports only",
}


class StaffUserError(PortalError):
    """A change the portal refuses, with a reason for the admin; `field` is the form field
    it is about, if any."""

    field: str | None = None


class AlreadyStaff(StaffUserError):
    field = "email"


class NameProblem(StaffUserError):
    field = "name"


class LastAdmin(StaffUserError):
    field = "role"


def staff_of(school_id: int) -> list[StaffUser]:
    """The school's staff users: active ones first, then by name and email."""
    return list(
        db.session.scalars(
            select(StaffUser)
            .where(StaffUser.school_id == school_id)
            .order_by(StaffUser.active.desc(), StaffUser.name, StaffUser.email, StaffUser.id)
        )
    )


def get(school_id: int, user_id: int) -> StaffUser:
    user = db.session.scalars(
        select(StaffUser).where(StaffUser.id == user_id, StaffUser.school_id == school_id)
    ).first()
    if user is None:
        raise NotFound("no such staff user")
    return user


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise StaffUserError(f"Unknown role {role!r}: choose admin, staff or marketing")


def _locked_admins(school_id: int) -> list[int]:
    """Lock the school's active admins and return their ids."""
    return list(
        db.session.scalars(
            select(StaffUser.id)
            .where(
                StaffUser.school_id == school_id,
                StaffUser.role == Role.ADMIN,
                StaffUser.active.is_(True),
            )
            .order_by(StaffUser.id)
            .with_for_update()
        )
    )


def _refuse_last_admin(user: StaffUser, admins: list[int], acting: StaffUser, doing: str) -> None:
    if user.id in admins and len(admins) == 1:
        who = "you are" if user.id == acting.id else f"{user.name or user.email} is"
        raise LastAdmin(
            f"You cannot {doing}: {who} the only active admin of the school. "
            "Make someone else an admin first."
        )


@dataclass(frozen=True)
class Added:
    user: StaffUser
    reactivated: bool  # the address was a deactivated user of this school, now back


def add(actor: StaffUser, email: str, *, name: str, role: str) -> Added:
    """Add a staff user to the actor's school. An address that is already an active staff
    user of the school is refused; a deactivated one is let back in with the new name and
    role (their old sessions stay ended)."""
    _check_role(role)
    address = emails.normalise(email)
    name = name.strip()
    if len(name) > MAX_NAME:
        raise NameProblem(f"The name must be {MAX_NAME} characters or fewer")
    if wrong := single_line_problem(name):
        raise NameProblem(f"The name {wrong}")
    with writing() as session:
        user = session.scalars(
            select(StaffUser)
            .where(StaffUser.school_id == actor.school_id, StaffUser.email == address)
            .with_for_update()
        ).first()
        if user is not None and user.active:
            raise AlreadyStaff(f"{address} is already a staff user of this school")
        reactivated = user is not None
        if user is None:
            user = StaffUser(
                school_id=actor.school_id,
                email=address,
                name=name,
                role=role,
                active=True,
                created_at=utcnow(),
            )
            session.add(user)
        else:
            user.name, user.role, user.active = name, role, True
        session.flush()
        outbox.enqueue(
            to_address=address,
            template=WELCOME_TEMPLATE,
            payload={"staff_user_id": user.id, "added_by_id": actor.id, "reactivated": reactivated},
            school_id=actor.school_id,
        )
        audit_log.record(
            actor,
            "staff.add",
            detail={
                "user_id": user.id,
                "email": address,
                "name": name,
                "role": role,
                "reactivated": reactivated,
            },
        )
    return Added(user, reactivated)


def change_role(actor: StaffUser, user_id: int, role: str) -> StaffUser:
    """Give one of the school's active staff users another role. Nothing changes (and
    nothing is recorded) when the role is the same."""
    _check_role(role)
    with writing():
        admins = _locked_admins(actor.school_id)
        user = get(actor.school_id, user_id)
        if not user.active:
            raise StaffUserError(f"{user.name or user.email} is deactivated")
        if user.role != role:
            if role != Role.ADMIN:
                _refuse_last_admin(user, admins, actor, "change this role")
            before, user.role = user.role, role
            audit_log.record(
                actor,
                "staff.role",
                detail={"user_id": user.id, "email": user.email, "from": before, "to": role},
            )
    return user


@dataclass(frozen=True)
class Deactivated:
    user: StaffUser
    sessions_ended: int
    already: bool  # the user was already deactivated: nothing changed


def deactivate(actor: StaffUser, user_id: int, *, now: datetime | None = None) -> Deactivated:
    """Deactivate one of the school's staff users and end all their sessions now."""
    now = now or utcnow()
    with writing() as session:
        admins = _locked_admins(actor.school_id)
        user = get(actor.school_id, user_id)
        if not user.active:
            return Deactivated(user, 0, already=True)  # nothing to change
        _refuse_last_admin(user, admins, actor, "deactivate this account")
        user.active = False
        ended = session.execute(
            update(UserSession)
            .where(UserSession.staff_user_id == user.id, UserSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        count = int(ended.rowcount or 0)  # type: ignore[attr-defined]
        audit_log.record(
            actor,
            "staff.deactivate",
            detail={"user_id": user.id, "email": user.email, "sessions_ended": count},
            now=now,
        )
    return Deactivated(user, count, already=False)


def welcome_email_context(
    payload: dict[str, Any], now: datetime
) -> tuple[dict[str, Any] | None, str]:
    """The welcome to a staff user just added (or let back in), written when it is sent: not
    sent to someone deactivated again meanwhile."""
    user = db.session.get(StaffUser, int(payload["staff_user_id"]))
    if user is None:
        return None, "the staff user no longer exists"
    if not user.active:
        return None, "not sent: the staff user was deactivated before it could be sent"
    added_by = db.session.get(StaffUser, int(payload["added_by_id"]))
    school = user.school.name
    reactivated = bool(payload.get("reactivated"))
    subject = (
        f"You can use the consent portal for {school} again"
        if reactivated
        else f"You have been added to the consent portal for {school}"
    )
    has_factor = second_factor.factors_of(user.id).enrolled
    return {
        "subject": subject,
        "name": user.name or user.email,
        "email": user.email,
        "school_name": school,
        "added_by": (added_by.name or added_by.email) if added_by is not None else "an admin",
        "role": user.role,
        "role_words": ROLE_WORDS.get(Role(user.role), ""),
        "reactivated": reactivated,
        "second_factor": second_factor.required(),
        "has_factor": has_factor,
        "sign_in_url": f"{current_app.config['BASE_URL']}/sign-in",
    }, ""
