"""Schools and their staff users: creating a school with the head of its empty ledger chain,
and adding or updating a staff user."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from . import emails
from .database import writing
from .errors import NotFound, PortalError
from .extensions import db
from .models import LedgerHead, Role, School, StaffUser
from .text import single_line_problem

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def get_by_slug(slug: str) -> School:
    school = db.session.scalars(select(School).where(School.slug == slug)).first()
    if school is None:
        raise NotFound(f"no school with the slug {slug!r}")
    return school


def all_schools() -> list[School]:
    return list(db.session.scalars(select(School).order_by(School.name)))


def create(
    slug: str,
    *,
    name: str,
    contact_email: str | None = None,
    dpo_name: str | None = None,
    dpo_email: str | None = None,
) -> School:
    """Create a school and the head of its (empty) ledger chain, in one transaction."""
    slug = slug.strip().lower()
    if not SLUG.match(slug) or len(slug) > 64:
        raise PortalError(
            f"{slug!r} is not a valid slug: use lower-case letters, digits and single hyphens"
        )
    name = name.strip()
    if not name:
        raise PortalError("a school needs a name")
    if len(name) > 200:
        raise PortalError("the school's name is longer than 200 characters")
    dpo_name = (dpo_name or "").strip() or None
    for label, value in (("school's name", name), ("data protection officer's name", dpo_name)):
        if value and (wrong := single_line_problem(value)):
            raise PortalError(f"the {label} {wrong}")
    if dpo_name and len(dpo_name) > 200:
        raise PortalError("the data protection officer's name is longer than 200 characters")
    contact = emails.normalise(contact_email) if contact_email else None
    dpo = emails.normalise(dpo_email) if dpo_email else None
    with writing() as session:
        if session.scalars(select(School).where(School.slug == slug)).first():
            raise PortalError(f"a school with the slug {slug!r} already exists")
        school = School(
            slug=slug,
            name=name,
            contact_email=contact,
            dpo_name=dpo_name,
            dpo_email=dpo,
        )
        session.add(school)
        session.flush()
        session.add(LedgerHead(school_id=school.id))
    return school


@dataclass(frozen=True)
class StaffResult:
    user: StaffUser
    created: bool


def add_staff(school: School, email: str, *, role: str, name: str | None = None) -> StaffResult:
    """Add a staff user, or update the role and name of an existing one at this school."""
    if role not in {r.value for r in Role}:
        raise PortalError(f"unknown role {role!r}: use admin, staff or marketing")
    address = emails.normalise(email)
    name = name.strip() if name is not None else None
    if name and (wrong := single_line_problem(name)):
        raise PortalError(f"the name {wrong}")
    if name and len(name) > 200:
        raise PortalError("the name is longer than 200 characters")
    with writing() as session:
        user = session.scalars(
            select(StaffUser).where(StaffUser.school_id == school.id, StaffUser.email == address)
        ).first()
        created = user is None
        if user is None:
            user = StaffUser(school_id=school.id, email=address, role=role, name=name or "")
            session.add(user)
        else:
            user.role = role
            user.active = True
            if name is not None:
                user.name = name
    return StaffResult(user, created)
