"""Query rules that several features share, written once.

Each returns a SQL condition to put in a `where` or a join, so that "who decides for a pupil"
and "the wording a decision was made on" mean the same thing on every page, export and check.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_

from .models import ConsentEvent, GuardianLink, PurposeVersion


def deciding_link(links: Any = GuardianLink) -> ColumnElement[bool]:
    """A guardian–pupil link whose guardian decides for the pupil: the roster still lists it
    and it carries parental responsibility. `links` may be an alias of GuardianLink."""
    return and_(links.parental_responsibility.is_(True), links.ended_at.is_(None))


def wording_at_event(
    events: Any = ConsentEvent, versions: Any = PurposeVersion
) -> ColumnElement[bool]:
    """Join condition from a ledger event to the purpose wording it was recorded against."""
    return and_(
        versions.purpose_id == events.purpose_id,
        versions.version == events.purpose_version,
    )
