"""What every form shares: the filters that clean a field before it is validated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wtforms.validators import ValidationError

from .. import emails
from .incoming import parse_id


def strip(value: Any) -> Any:
    """Leading and trailing white space dropped from a text field (other values as they are)."""
    return value.strip() if isinstance(value, str) else value


def optional_id(message: str) -> Callable[[Any, Any], None]:
    """A validator: the field is empty, or an id as `incoming.parse_id` reads one (ASCII digits
    within the database's integer range): "²", "٣" or 2147483648 are refused with `message`."""

    def check(form: Any, field: Any) -> None:
        if field.data not in (None, "") and parse_id(field.data) is None:
            raise ValidationError(message)

    return check


def email_address(example: str) -> Callable[[Any, Any], None]:
    """A validator: the field holds an address `emails.normalise` accepts (the same rule as the
    roster and the commands); `example` shows the right shape in the message."""

    def check(form: Any, field: Any) -> None:
        try:
            emails.normalise(field.data or "")
        except emails.InvalidEmail as exc:
            raise ValidationError(
                f"Enter an email address in the correct format, like {example}"
            ) from exc

    return check
