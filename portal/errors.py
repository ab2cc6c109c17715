"""Domain errors: what a domain function raises when it refuses, with a reason a person can read.

The web layer turns them into pages (`portal.web.error_pages`), the CLI into one-line messages.
"""

from __future__ import annotations


class PortalError(Exception):
    """Something a user or operator asked for that the portal refuses, with a clear reason."""


class NotFound(PortalError):
    """A thing that does not exist (or that this person may not see, which looks the same)."""
