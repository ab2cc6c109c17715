"""Template filters: dates and times as people in the UK read them; and the template global
`reference(slug, seq, hash)`, an event's short reference."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from ..references import reference
from ..types import LONDON, uk_date


def uk_datetime(value: datetime) -> str:
    local = value.astimezone(LONDON)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


LAWFUL_BASES = {
    "consent": "Your consent (UK GDPR Article 6(1)(a)).",
    "contract": "A contract with you (UK GDPR Article 6(1)(b)).",
    "legal_obligation": "The law requires the school to do it (UK GDPR Article 6(1)(c)).",
    "vital_interests": "To protect someone's life (UK GDPR Article 6(1)(d)).",
    "public_task": (
        "It is part of the school's public task: the work the law gives schools to do "
        "(UK GDPR Article 6(1)(e))."
    ),
    "legitimate_interests": "The school's legitimate interests (UK GDPR Article 6(1)(f)).",
}
DECISIONS = {
    "grant": "Yes",
    "withdraw": "No",
    "object": "Objected",
    "lift_objection": "Objection withdrawn",
    "upheld": "Objection upheld",
    "not_upheld": "Objection not upheld",
}
CHANNELS = {
    "web": "online",
    "paper": "from a paper form",
    "phone": "from a phone call",
    "email": "from an email",
}


def lawful_basis(value: str) -> str:
    return LAWFUL_BASES.get(value, value)


def decision_words(value: str) -> str:
    return DECISIONS.get(value, value)


def channel_words(value: str) -> str:
    return CHANNELS.get(value, value)


def capitalize_first(value: str) -> str:
    """Upper-case the first letter only (Jinja's `capitalize` lowers the rest)."""
    return value[:1].upper() + value[1:]


def init_app(app: Flask) -> None:
    for function in (
        uk_date,
        uk_datetime,
        lawful_basis,
        decision_words,
        channel_words,
        capitalize_first,
    ):
        app.add_template_filter(function)
    # An event's reference (portal/references.py), where a row does not carry its own.
    app.add_template_global(reference, "reference")
