"""Template filters: dates and times as people in the UK read them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

LONDON = ZoneInfo("Europe/London")


def uk_date(value: datetime) -> str:
    local = value.astimezone(LONDON)
    return f"{local.day} {local:%B %Y}"


def uk_datetime(value: datetime) -> str:
    local = value.astimezone(LONDON)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def init_app(app: Flask) -> None:
    app.add_template_filter(uk_date)
    app.add_template_filter(uk_datetime)
