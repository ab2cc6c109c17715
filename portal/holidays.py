"""The bank holidays in force: the England and Wales list shipped with the portal
(portal/data) and the days an operator added (`flask holidays add`, table bank_holidays).
Every due date the portal works out (rights requests, take-downs, leaving tasks) reads them
here."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from . import deadlines
from .database import read, writing
from .extensions import db
from .models import BankHoliday
from .types import utcnow

_ADDED = select(BankHoliday.day)


def in_force() -> frozenset[date]:
    """Every bank holiday the portal knows: shipped and added."""
    added = read(_ADDED).scalars().all()
    return deadlines.bank_holidays(added)


def listed() -> list[tuple[date, str, bool]]:
    """(day, name, added by an operator?) for every known bank holiday, in date order."""
    days: dict[date, tuple[str, bool]] = {
        day: (name, False) for day, name in deadlines.shipped_holidays().items()
    }
    for row in db.session.scalars(select(BankHoliday)):
        days[row.day] = (row.name, True)
    return [(day, name, added) for day, (name, added) in sorted(days.items())]


def add(day: date, name: str) -> bool:
    """Add a day off (a new bank holiday, such as one for a royal occasion). False when the
    day is already known."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValueError("a bank holiday needs a name of 1 to 100 characters")
    if day in in_force():
        return False
    with writing() as session:
        session.add(BankHoliday(day=day, name=name, added_at=utcnow()))
    return True
