"""Saving a checked purpose: the one way purposes are written, for the purposes file and the
admin's forms alike, so that a purpose means the same whatever made it.

Changing the title or description of a purpose makes a new wording version (every version's
wording is kept); "yes" answers given to an older version then need renewal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..extensions import db
from ..models import Purpose, PurposeVersion
from .checks import PurposeSpec
from .lookup import grants_to_renew

WORDING = ("title", "description")
# What `save` sets from a spec besides the wording (and the key, which never changes).
SETTINGS = ("choice", "lawful_basis", "scope", "guardian_rule", "renewal", "renewal_days",
            "shared_with", "retention", "publishable", "marketing", "takedown_days",
            "on_leaving", "leaving_days", "keep_months")  # fmt: skip


@dataclass(frozen=True)
class Change:
    """What saving a spec did to a purpose."""

    purpose: Purpose
    outcome: str  # created | reworded | updated | unchanged (the LoadReport lists)
    fields: tuple[str, ...] = ()  # the fields that changed (wording first)
    # "Yes" answers given to the wording before a rewording: they now need renewing.
    renewals: int = 0


def save(
    school_id: int,
    spec: PurposeSpec,
    purpose: Purpose | None,
    *,
    now: datetime,
    position: int | None = None,
    active: bool | None = None,
) -> Change:
    """Create a purpose from a checked spec, or bring an existing one in line with it, in the
    caller's transaction.

    A changed title or description makes a new wording version, so that "yes" answers to the
    old wording need renewing. `position` and `active` are left as they are unless given.
    """
    settings: dict[str, Any] = {name: getattr(spec, name) for name in SETTINGS}
    if position is not None:
        settings["position"] = position
    if active is not None:
        settings["active"] = active
    if purpose is None:
        purpose = Purpose(
            school_id=school_id,
            key=spec.key,
            title=spec.title,
            description=spec.description,
            version=1,
            created_at=now,
            updated_at=now,
            **{"position": 0, "active": True, **settings},
        )
        db.session.add(purpose)
        db.session.flush()
        _add_version(purpose, now)
        return Change(purpose, "created")
    reworded = tuple(name for name in WORDING if getattr(purpose, name) != getattr(spec, name))
    changed = tuple(name for name, value in settings.items() if getattr(purpose, name) != value)
    for name in changed:
        setattr(purpose, name, settings[name])
    renewals = 0
    if reworded:
        renewals = grants_to_renew(purpose)  # answers to the wording about to be replaced
        purpose.title = spec.title
        purpose.description = spec.description
        purpose.version += 1
        _add_version(purpose, now)
    if reworded or changed:
        purpose.updated_at = now
    outcome = "reworded" if reworded else "updated" if changed else "unchanged"
    return Change(purpose, outcome, reworded + changed, renewals)


def _add_version(purpose: Purpose, now: datetime) -> None:
    db.session.add(
        PurposeVersion(
            school_id=purpose.school_id,
            purpose_id=purpose.id,
            version=purpose.version,
            title=purpose.title,
            description=purpose.description,
            created_at=now,
        )
    )
