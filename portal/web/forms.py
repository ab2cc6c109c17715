"""What every form shares: the filters that clean a field before it is validated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wtforms.validators import ValidationError

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
