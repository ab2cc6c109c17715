"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always handed back timezone-aware.

    PostgreSQL keeps `timestamptz`; SQLite keeps naive text, so values are converted to UTC
    on the way in and marked UTC on the way out. Naive datetimes are refused: every time in
    the portal is explicit about its zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# The schools' time zone: dates shown to people, academic years and "today" are London's.
LONDON = ZoneInfo("Europe/London")


def utcnow() -> datetime:
    return datetime.now(UTC)


def london_date(moment: datetime) -> date:
    """The calendar date in London at `moment` (the day a school and a family live in)."""
    return moment.astimezone(LONDON).date()


def uk_date(value: datetime | date) -> str:
    """ "3 March 2026": a moment's date in London, or a calendar date (a due date) as it is."""
    day = london_date(value) if isinstance(value, datetime) else value
    return f"{day.day} {day:%B %Y}"
