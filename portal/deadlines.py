"""When a rights request (access, erasure, ...) must be answered: the ICO's one-month rule.

Pure functions on dates, no Flask and no database. The rule, as the ICO's right of access
guidance states it (docs/legal.md, section 9, cites the page):

- The clock starts on the day the request, or the ID or fee the school asked for, is received,
  working day or not: that day is day one. Callers pass that date as `received`.
- The deadline is the same date in the following month; where that month is shorter and has
  no such date, its last day (31 January -> 28 or 29 February).
- An extension for a complex request, or for several requests from one person, is counted
  from the ORIGINAL START DATE, not from the first deadline: "three months from the original
  start date". So `extension_months=2` is three calendar months from `received` (31 January
  -> 30 April), where adding two months to the first deadline would give 28 April. One month
  of extension is read the same way: two months from `received`.
- Days the clock was stopped while the school waited for clarification are added back, day for
  day, in calendar days; the caller counts them.
- Only the final date moves: when it falls on a weekend or a bank holiday, the deadline is the
  next working day.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable
from datetime import date, timedelta
from importlib import resources

HOLIDAYS_FILE = "bank_holidays_england_and_wales.txt"
MAX_EXTENSION_MONTHS = 2


def add_calendar_months(start: date, months: int) -> date:
    """The same date `months` later; the last day of that month when it is shorter."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def one_calendar_month(received: date) -> date:
    """The ICO's one month: the day of receipt is day one, so the same date next month."""
    return add_calendar_months(received, 1)


def is_working_day(day: date, holidays: Collection[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def next_working_day(day: date, holidays: Collection[date]) -> date:
    """The day itself if it is a weekday and not a bank holiday, else the next one that is."""
    while not is_working_day(day, holidays):
        day += timedelta(days=1)
    return day


def due_date(
    received: date,
    *,
    holidays: Collection[date],
    paused_days: int = 0,
    extension_months: int = 0,
) -> date:
    """The last day to answer a request received on `received`.

    One calendar month from receipt, or 1 + `extension_months` calendar months from receipt
    when extended (the ICO counts an extension from the original start date); plus every
    calendar day the clock was paused; then the next working day if that is a weekend or a
    bank holiday.
    """
    if not 0 <= extension_months <= MAX_EXTENSION_MONTHS:
        raise ValueError(f"extension_months must be 0 to {MAX_EXTENSION_MONTHS}")
    if paused_days < 0:
        raise ValueError("paused_days cannot be negative")
    deadline = add_calendar_months(received, 1 + extension_months)
    return next_working_day(deadline + timedelta(days=paused_days), holidays)


def parse_holidays(text: str) -> dict[date, str]:
    """`YYYY-MM-DD name` lines; blank lines and `#` comments skipped; a repeated date refused."""
    found: dict[date, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        iso, _, name = line.partition(" ")
        day = date.fromisoformat(iso)
        if day in found:
            raise ValueError(f"line {number}: {iso} is listed twice")
        found[day] = name.strip()
    return found


def shipped_holidays() -> dict[date, str]:
    """The England and Wales bank holidays shipped in portal/data, with their names."""
    text = (
        resources.files("portal")
        .joinpath("data")
        .joinpath(HOLIDAYS_FILE)
        .read_text(encoding="utf-8")
    )
    return parse_holidays(text)


def bank_holidays(extra: Iterable[date] = ()) -> frozenset[date]:
    """The shipped bank holidays plus a school's own extra closure days."""
    return frozenset(shipped_holidays()) | frozenset(extra)


def add_working_days(start: date, days: int, holidays: Collection[date]) -> date:
    """The working day `days` working days after `start` (a take-down due "within 5 school
    days" of a Friday is due the Friday after). `days=0` is `start` itself, or the next
    working day when `start` is not one."""
    if days < 0:
        raise ValueError("days cannot be negative")
    day = next_working_day(start, holidays)
    for _ in range(days):
        day = next_working_day(day + timedelta(days=1), holidays)
    return day
