"""The due date of a rights request follows the ICO's one-month rule (docs/legal.md, section 9)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal import deadlines

HOLIDAYS = deadlines.bank_holidays()
YEARS = range(2024, 2029)


def _due(received: date, **options: int) -> date:
    return deadlines.due_date(received, holidays=HOLIDAYS, **options)


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (date(2026, 9, 3), date(2026, 10, 3)),  # the ICO's example: 3 September -> 3 October
        (date(2025, 1, 31), date(2025, 2, 28)),
        (date(2028, 1, 31), date(2028, 2, 29)),
        (date(2025, 1, 30), date(2025, 2, 28)),
        (date(2028, 1, 30), date(2028, 2, 29)),
        (date(2026, 3, 30), date(2026, 4, 30)),
        (date(2026, 3, 31), date(2026, 4, 30)),
        (date(2026, 12, 15), date(2027, 1, 15)),
    ],
)
def test_one_calendar_month_is_the_same_date_or_the_shorter_months_last_day(received, expected):
    assert deadlines.one_calendar_month(received) == expected


def test_a_deadline_on_a_saturday_or_sunday_moves_to_monday():
    assert _due(date(2026, 9, 5)) == date(2026, 10, 5)  # Monday 5 October; 5th is a Saturday
    assert _due(date(2026, 9, 4)) == date(2026, 10, 5)  # 4 October is a Sunday


def test_a_deadline_on_31_january_rolled_to_a_weekend_moves_to_monday():
    # 31 January 2027 -> 28 February 2027, a Sunday -> Monday 1 March.
    assert _due(date(2027, 1, 31)) == date(2027, 3, 1)


def test_a_deadline_on_christmas_day_2026_moves_past_the_boxing_day_substitute():
    # Friday 25 December; Boxing Day is a Saturday, so Monday 28 December is the holiday.
    assert _due(date(2026, 11, 25)) == date(2026, 12, 29)


def test_the_icos_own_christmas_example_for_2024():
    # "Received on Monday 25 November ... until the end of Friday 27 December."
    assert _due(date(2024, 11, 25)) == date(2024, 12, 27)


def test_a_request_received_on_a_bank_holiday_still_counts_that_day_as_day_one():
    # The ICO's example: received 1 January, the month ends on 1 February.
    assert _due(date(2026, 1, 1)) == date(2026, 2, 2)  # 1 February 2026 is a Sunday
    assert deadlines.one_calendar_month(date(2026, 1, 1)) == date(2026, 2, 1)


def test_paused_days_are_added_back_in_calendar_days_before_the_working_day_rule():
    # 2 March 2026 -> 2 April (Thursday) + 10 days = 12 April, a Sunday -> Monday 13 April.
    assert _due(date(2026, 3, 2), paused_days=10) == date(2026, 4, 13)
    # 1 March 2026 -> 1 April + 2 days = Friday 3 April, Good Friday -> Tuesday 7 April.
    assert _due(date(2026, 3, 1), paused_days=2) == date(2026, 4, 7)


def test_an_extension_counts_from_the_original_start_date():
    # The ICO: "three months from the original start date". 31 January 2026 + 3 months is
    # 30 April (a Thursday), not 28 February + 2 months = 28 April.
    assert _due(date(2026, 1, 31), extension_months=2) == date(2026, 4, 30)
    assert _due(date(2026, 1, 31), extension_months=1) == date(2026, 3, 31)
    # 15 June 2026 + 3 months = Tuesday 15 September; + 2 months = Saturday 15 August -> 17th.
    assert _due(date(2026, 6, 15), extension_months=2) == date(2026, 9, 15)
    assert _due(date(2026, 6, 15), extension_months=1) == date(2026, 8, 17)


def test_an_extension_and_a_pause_combine():
    # 15 June 2026 + 3 months = 15 September + 10 days = Friday 25 September.
    assert _due(date(2026, 6, 15), extension_months=2, paused_days=10) == date(2026, 9, 25)


@pytest.mark.parametrize("extension_months", [-1, 3, 12])
def test_an_extension_outside_zero_to_two_months_is_refused(extension_months):
    with pytest.raises(ValueError, match="extension_months"):
        _due(date(2026, 1, 5), extension_months=extension_months)


def test_negative_paused_days_are_refused():
    with pytest.raises(ValueError, match="paused_days"):
        _due(date(2026, 1, 5), paused_days=-1)


def test_next_working_day_keeps_a_working_day_and_skips_weekends_and_holidays():
    assert deadlines.next_working_day(date(2026, 12, 24), HOLIDAYS) == date(2026, 12, 24)
    assert deadlines.next_working_day(date(2026, 12, 25), HOLIDAYS) == date(2026, 12, 29)
    assert deadlines.next_working_day(date(2026, 12, 26), frozenset()) == date(2026, 12, 28)


def test_an_admins_extra_closure_days_count_as_holidays():
    extra = date(2026, 10, 5)  # a Monday the school says it is closed
    holidays = deadlines.bank_holidays(extra=[extra])
    assert extra in holidays
    assert holidays == HOLIDAYS | {extra}
    assert deadlines.due_date(date(2026, 9, 5), holidays=holidays) == date(2026, 10, 6)


def test_the_shipped_holiday_file_parses_without_duplicates_and_has_each_years_holidays():
    shipped = deadlines.shipped_holidays()
    assert frozenset(shipped) == HOLIDAYS
    for year in YEARS:
        names = {name for day, name in shipped.items() if day.year == year}
        assert "Good Friday" in names, year
        assert names & {"Christmas Day", "Christmas Day (substitute day)"}, year
        assert len([day for day in shipped if day.year == year]) == 8, year
    assert shipped[date(2026, 12, 28)] == "Boxing Day (substitute day)"
    assert shipped[date(2027, 12, 27)] == "Christmas Day (substitute day)"
    assert all(day.weekday() < 5 for day in shipped)


@pytest.mark.parametrize(
    "good_friday",
    [date(2024, 3, 29), date(2025, 4, 18), date(2026, 4, 3), date(2027, 3, 26), date(2028, 4, 14)],
    ids=str,
)
def test_good_friday_each_year(good_friday):
    assert deadlines.shipped_holidays()[good_friday] == "Good Friday"


def test_a_repeated_date_in_a_holiday_file_is_refused():
    with pytest.raises(ValueError, match="listed twice"):
        deadlines.parse_holidays("2026-12-25 Christmas Day\n2026-12-25 Christmas Day\n")


received_dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 6, 30))
options = st.fixed_dictionaries(
    {"paused_days": st.integers(0, 60), "extension_months": st.integers(0, 2)}
)


@given(received=received_dates, later_by=st.integers(0, 400), chosen=options)
def test_the_due_date_is_a_working_day_never_early_and_monotone(received, later_by, chosen):
    due = _due(received, **chosen)
    assert deadlines.is_working_day(due, HOLIDAYS)
    assert due >= deadlines.one_calendar_month(received)
    assert due >= _due(received)
    assert due - deadlines.one_calendar_month(received) < timedelta(days=62 + 60 + 5)
    assert _due(received + timedelta(days=later_by), **chosen) >= due
