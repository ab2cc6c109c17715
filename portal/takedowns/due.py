"""When a task must be done: working days from the London date it was made, by the purpose's
setting (`takedown_days` for a take-down, `leaving_days` for a leaving task), counting past
weekends and the bank holidays in force (`holidays.in_force`)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from .. import deadlines
from ..models import Purpose
from ..types import london_date

# Working days to do a take-down when the purpose does not say (`Purpose.takedown_days`).
DEFAULT_DAYS = 5
# Working days to do a leaving task when the purpose does not say (`Purpose.leaving_days`).
DEFAULT_LEAVING_DAYS = 5


def takedown_due(purpose: Purpose, created_at: datetime, holidays: Collection[date]) -> date:
    days = purpose.takedown_days if purpose.takedown_days is not None else DEFAULT_DAYS
    return deadlines.add_working_days(london_date(created_at), days, holidays)


def leaving_due(purpose: Purpose, created_at: datetime, holidays: Collection[date]) -> date:
    days = purpose.leaving_days if purpose.leaving_days is not None else DEFAULT_LEAVING_DAYS
    return deadlines.add_working_days(london_date(created_at), days, holidays)
