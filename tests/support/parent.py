"""What the tests of the parent journey's pages share: their addresses, the ledger's events
and one purpose's card."""

from __future__ import annotations

import re
from typing import Any

from portal.extensions import db
from tests.support.world import World, event_rows


def child_path(world: World, key: str, school: str = "oak") -> str:
    return f"/family/children/{getattr(world, school).pupils[key].id}"


def decide_path(world: World, key: str, purpose: str, school: str = "oak") -> str:
    setup = getattr(world, school)
    return f"/family/children/{setup.pupils[key].id}/choices/{setup.purposes[purpose].id}"


def events(world: World, school: str = "oak") -> list[Any]:
    db.session.remove()
    return event_rows(getattr(world, school).id)


def card(page: Any, purpose_id: int) -> str:
    """The HTML of one purpose's card on a child's page."""
    match = re.search(
        rf'<section class="portal-card[^"]*" id="purpose-{purpose_id}".*?</section>',
        page.text,
        re.S,
    )
    assert match, f"no card for purpose {purpose_id}"
    return match.group(0)
