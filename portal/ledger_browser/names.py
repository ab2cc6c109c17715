"""Who an event is about and who took it down, in words: each name made in Python (for the
page and the Python export) and the same name in SQL (PostgreSQL, for the export written by
COPY), so that both exports write the same cells. A guardian's name is the one the event's
school holds (`SchoolContact`, docs/architecture.md, "Contacts and names")."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, null
from sqlalchemy.orm import aliased

from ..models import ActorType, ConsentEvent, SchoolContact, StaffUser

# The school's name for the guardian who took an event down.
ActorContact = aliased(SchoolContact, name="actor_contact")
# The school's name for the guardian an event is about.
GuardianContact = aliased(SchoolContact, name="guardian_contact")


_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])


def with_actor(query: _Query, school_id: int | ColumnElement[int]) -> _Query:
    """`query` with who took each event down joined: the staff user (of this school) or the
    guardian (`ActorContact`: the name this school holds for them), whichever the event's
    actor is; `actor_name_sql` names them."""
    return query.outerjoin(
        StaffUser,
        and_(
            ConsentEvent.actor_type == ActorType.STAFF.value,
            StaffUser.id == ConsentEvent.actor_id,
            StaffUser.school_id == school_id,
        ),
    ).outerjoin(
        ActorContact,
        and_(
            ConsentEvent.actor_type == ActorType.GUARDIAN.value,
            ActorContact.guardian_id == ConsentEvent.actor_id,
            ActorContact.school_id == school_id,
        ),
    )


def guardian_contact(school_id: int | ColumnElement[int]) -> ColumnElement[bool]:
    """Join condition: `GuardianContact`, the name this school holds for the event's
    guardian."""
    return and_(
        GuardianContact.guardian_id == ConsentEvent.guardian_id,
        GuardianContact.school_id == school_id,
    )


def person_name(forename: str | None, surname: str | None) -> str | None:
    if forename is None and surname is None:
        return None
    return f"{forename or ''} {surname or ''}".strip()


def actor_name(row: Any) -> str:
    if row.actor_type == ActorType.STAFF:
        return row.staff_name or row.staff_email or f"staff user {row.actor_id}"
    if row.actor_type == ActorType.GUARDIAN:
        return person_name(row.actor_forename, row.actor_surname) or f"guardian {row.actor_id}"
    return "the system"


# What Python's `str.strip()` takes off both ends (every character for which `str.isspace()`
# holds), so that the database makes a name exactly as `person_name` does.
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _printable(code: Any) -> ColumnElement[bool]:
    """A character code (PostgreSQL's ascii()) of visible ASCII: not whitespace."""
    return and_(code >= 0x21, code <= 0x7E)


def person_name_sql(forename: Any, surname: Any) -> ColumnElement[str]:
    """`person_name` in SQL (PostgreSQL): NULL when both are NULL, else "forename surname"
    with Python's whitespace trimmed from both ends. When the forename begins and the
    surname ends with visible ASCII (nearly always), there is nothing to trim, and the
    trimming, the dearest part, is skipped."""
    return case(
        (and_(forename.is_(None), surname.is_(None)), null()),
        (
            and_(_printable(func.ascii(forename)), _printable(func.ascii(func.right(surname, 1)))),
            forename + " " + surname,
        ),
        else_=func.btrim(
            func.coalesce(forename, "") + " " + func.coalesce(surname, ""), PY_WHITESPACE
        ),
    )


def actor_name_sql(columns: Any) -> ColumnElement[str]:
    """`actor_name` in SQL, over columns named as `rows_query` names them (actor_type,
    actor_id, staff_name, staff_email, actor_forename, actor_surname: a subquery's `.c`, or
    any object with those attributes). An empty name counts as none, as `or` does in
    Python."""
    actor_id = func.coalesce(cast(columns.actor_id, String), "None")
    return case(
        (
            columns.actor_type == ActorType.STAFF.value,
            func.coalesce(
                func.nullif(columns.staff_name, ""),
                func.nullif(columns.staff_email, ""),
                "staff user " + actor_id,
            ),
        ),
        (
            columns.actor_type == ActorType.GUARDIAN.value,
            func.coalesce(
                func.nullif(person_name_sql(columns.actor_forename, columns.actor_surname), ""),
                "guardian " + actor_id,
            ),
        ),
        else_="the system",
    )
