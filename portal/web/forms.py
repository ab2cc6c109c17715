"""What every form shares: the filters that clean a field before it is validated."""

from __future__ import annotations

from typing import Any


def strip(value: Any) -> Any:
    """Leading and trailing white space dropped from a text field (other values as they are)."""
    return value.strip() if isinstance(value, str) else value
