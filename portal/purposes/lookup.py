"""Reading a school's purposes: all of them, one by id (within the school), and what the
ledger holds about one."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select

from ..errors import NotFound
from ..extensions import db
from ..models import ConsentEvent, CurrentDecision, Decision, DecisionAxis, Purpose, School


def for_school(school: School, *, active_only: bool = True) -> list[Purpose]:
    query = select(Purpose).where(Purpose.school_id == school.id)
    if active_only:
        query = query.where(Purpose.active.is_(True))
    return list(db.session.scalars(query.order_by(Purpose.position, Purpose.id)))


def active_where(school_id: int, *conditions: ColumnElement[bool]) -> list[Purpose]:
    """The school's active purposes that meet `conditions`, in page order."""
    return list(
        db.session.scalars(
            select(Purpose)
            .where(Purpose.school_id == school_id, Purpose.active.is_(True), *conditions)
            .order_by(Purpose.position, Purpose.id)
        )
    )


def get(school_id: int, purpose_id: int, *, lock: bool = False) -> Purpose:
    """One purpose of this school (retired or not); NotFound for another school's."""
    query = select(Purpose).where(Purpose.id == purpose_id, Purpose.school_id == school_id)
    if lock:
        # PostgreSQL: one change to a purpose at a time; a lock that does not hold up the
        # ledger's inserts referring to the purpose. The row is read again as it is now,
        # not taken from what this session loaded before.
        query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
    purpose = db.session.scalars(query).first()
    if purpose is None:
        raise NotFound("no such purpose at this school")
    return purpose


def grants_to_renew(purpose: Purpose) -> int:
    """How many "yes" answers stand for the purpose's current wording: a new wording version
    would ask each of them for a fresh answer."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(CurrentDecision)
            .where(
                CurrentDecision.school_id == purpose.school_id,
                CurrentDecision.purpose_id == purpose.id,
                CurrentDecision.axis == DecisionAxis.ANSWER,
                CurrentDecision.decision == Decision.GRANT,
                CurrentDecision.purpose_version == purpose.version,
            )
        )
        or 0
    )


def decision_count(purpose: Purpose) -> int:
    """How many decisions the ledger holds about this purpose."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(ConsentEvent)
            .where(
                ConsentEvent.school_id == purpose.school_id,
                ConsentEvent.purpose_id == purpose.id,
            )
        )
        or 0
    )
