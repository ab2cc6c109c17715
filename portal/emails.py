"""Email addresses: one normal form, so one person is one row whatever the capitals."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


class InvalidEmail(ValueError):
    pass


def normalise(address: str) -> str:
    """Return the address lower-cased and checked for shape (no DNS look-up)."""
    candidate = address.strip()
    if not candidate:
        raise InvalidEmail("the email address is empty")
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"{candidate!r} is not a valid email address ({exc})") from exc
    return result.normalized.lower()
