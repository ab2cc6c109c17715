"""An admin's edits in the staff workspace, one purpose at a time: add one, change one (a new
wording version when the title or description changes), retire one. Each goes through the
same checks as the purposes file and is written, with its audit entry, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import audit_log
from ..database import writing
from ..errors import PortalError
from ..extensions import db
from ..models import Purpose, StaffUser
from ..types import utcnow
from .checks import Problem, PurposeSpec, check
from .lookup import decision_count, get
from .saving import Change, save
from .templates import PurposeTemplate


class InvalidPurpose(PortalError):
    """A purpose from a form is not valid, or cannot be saved; nothing was saved."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


def _checked(entry: Mapping[str, Any]) -> PurposeSpec:
    spec, problems = check(entry)
    if spec is None:
        raise InvalidPurpose(problems)
    return spec


def _key_taken(key: str) -> InvalidPurpose:
    return InvalidPurpose(
        [
            Problem(
                "key",
                f"the key {key!r} is already used",
                "This school already has a purpose with this key (perhaps a retired one): "
                "choose another key",
            )
        ]
    )


def _key_in_use(school_id: int, key: str) -> bool:
    taken = db.session.scalar(
        select(Purpose.id).where(Purpose.school_id == school_id, Purpose.key == key)
    )
    return taken is not None


def create(
    school_id: int,
    entry: Mapping[str, Any],
    *,
    staff: StaffUser,
    template: PurposeTemplate | None = None,
) -> Purpose:
    """Add a purpose (after the school's others), with an audit entry `purpose.create`.
    Started from a `template`, the template decides what it fixes (`templates.FIXED`),
    whatever `entry` says, and the audit entry names it."""
    if template is not None:
        entry = {**entry, **template.fixed()}
    spec = _checked(entry)
    try:
        with writing() as session:
            if _key_in_use(school_id, spec.key):
                raise _key_taken(spec.key)
            last = session.scalar(
                select(func.max(Purpose.position)).where(Purpose.school_id == school_id)
            )
            now = utcnow()
            change = save(
                school_id,
                spec,
                None,
                now=now,
                position=0 if last is None else last + 1,
                active=True,
            )
            audit_log.record(
                staff,
                "purpose.create",
                school_id=school_id,
                detail={
                    "purpose_id": change.purpose.id,
                    "key": spec.key,
                    "title": spec.title,
                    "version": 1,
                    **({"template": template.key} if template is not None else {}),
                },
                now=now,
            )
    except IntegrityError as exc:
        # Two admins adding the same key at once: the second meets the unique constraint
        # (the transaction is rolled back).
        if _key_in_use(school_id, spec.key):
            raise _key_taken(spec.key) from exc
        raise
    return change.purpose


def update(
    school_id: int, purpose_id: int, entry: Mapping[str, Any], *, staff: StaffUser
) -> Change:
    """Change a purpose as a form gives it (its key never changes), with an audit entry
    `purpose.update` naming the fields that changed and the version.

    A new title or description makes a new wording version: "yes" answers to the old one
    need renewing (`Change.renewals` says how many). Its choice kind and scope can change
    only while the ledger holds no decision about it: the decisions were given to them.
    """
    with writing():
        purpose = get(school_id, purpose_id, lock=True)
        spec = _checked({**entry, "key": purpose.key})
        problems = _decided(purpose, spec)
        if problems:
            raise InvalidPurpose(problems)
        now = utcnow()
        change = save(school_id, spec, purpose, now=now)
        if change.outcome != "unchanged":
            audit_log.record(
                staff,
                "purpose.update",
                school_id=school_id,
                detail={
                    "purpose_id": purpose.id,
                    "key": purpose.key,
                    "fields": list(change.fields),
                    "version": purpose.version,
                    "reworded": change.outcome == "reworded",
                    "needs_renewal": change.renewals,
                },
                now=now,
            )
    return change


def _decided(purpose: Purpose, spec: PurposeSpec) -> list[Problem]:
    """A change of the choice kind or the scope, refused once the ledger holds decisions."""
    problems: list[Problem] = []
    if spec.choice == purpose.choice and spec.scope == purpose.scope:
        return problems
    decided = decision_count(purpose)
    answers = f"{decided} decision{'' if decided == 1 else 's'}"
    if decided and spec.choice != purpose.choice:
        problems.append(
            Problem(
                "choice",
                f"{purpose.key}: its choice cannot change: the ledger holds {answers} about it",
                f"You cannot change the kind of choice: families have made {answers} "
                "about this purpose as it is. Retire it and add a new purpose instead",
            )
        )
    if decided and spec.scope != purpose.scope:
        problems.append(
            Problem(
                "scope",
                f"{purpose.key}: its scope cannot change: the ledger holds {answers} about it",
                f"You cannot change who makes the choice: families have made {answers} "
                "about this purpose as it is. Retire it and add a new purpose instead",
            )
        )
    return problems


def retire(school_id: int, purpose_id: int, *, staff: StaffUser) -> Change:
    """Stop showing a purpose to families, with an audit entry `purpose.retire`. The purpose
    and every decision about it stay, for the record. Retiring a retired one changes
    nothing (`Change.outcome` "unchanged")."""
    with writing():
        purpose = get(school_id, purpose_id, lock=True)
        if not purpose.active:
            return Change(purpose, "unchanged")
        now = utcnow()
        purpose.active = False
        purpose.updated_at = now
        audit_log.record(
            staff,
            "purpose.retire",
            school_id=school_id,
            detail={
                "purpose_id": purpose.id,
                "key": purpose.key,
                "version": purpose.version,
                "decisions_kept": decision_count(purpose),
            },
            now=now,
        )
    return Change(purpose, "updated", ("active",))
