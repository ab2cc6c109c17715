"""Email addresses: one normal form, so one person is one row whatever the capitals."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

# RFC 5321 (4.5.3.1.3): a path is at most 256 octets, angle brackets included, so an address
# is at most 254 characters. Checked before any parsing: email_validator's time grows with
# the length of what it is given.
MAX_LENGTH = 254


class InvalidEmail(ValueError):
    pass


def normalise(address: str) -> str:
    """Return the address lower-cased and checked for shape (no DNS look-up)."""
    candidate = address.strip()
    if not candidate:
        raise InvalidEmail("the email address is empty")
    if len(candidate) > MAX_LENGTH:
        raise InvalidEmail(f"the email address is longer than {MAX_LENGTH} characters")
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"{candidate!r} is not a valid email address ({exc})") from exc
    return result.normalized.lower()
