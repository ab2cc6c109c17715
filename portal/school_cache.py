"""What a school's pages read on almost every request and a school rarely changes, its active
purposes and its classes, kept in each app process (docs/architecture.md, "Per-request
cost").

Each entry is keyed by the school and its `generation`, a number the database itself moves on
(triggers of migration 0017) whenever a row of `purposes` changes, or a pupil joins, leaves
or changes class. A page reads the school's generation as a column of a row it reads anyway
(the family's schools, the staff user's school with the session): a value fresh from the
database, never an ORM object's, which a long session may hold from before a change. So a
change made through any app server, a command or by hand is seen by every app server at its
next request: no timer, no stale page. An old generation's entry is replaced by the new one.

The purposes are ORM objects detached from the session that read them (`expunge`), so that no
later rollback expires them, shared read-only by the requests of the process: never add one
to a session or change it; `portal.purposes` reads its own to edit. No Flask request state.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import bindparam, select

from .extensions import db
from .models import Pupil, Purpose

_ACTIVE = (
    select(Purpose)
    .where(Purpose.school_id == bindparam("school_id"), Purpose.active.is_(True))
    .order_by(Purpose.position, Purpose.id)
)
_GROUPS = (
    select(Pupil.class_name, Pupil.year_group)
    .where(Pupil.school_id == bindparam("school_id"), Pupil.on_roll.is_(True))
    .distinct()
)


@dataclass(frozen=True)
class Groups:
    """A school's classes and year groups of pupils on roll, sorted: the classes as a list
    shows them (case aside), without an empty one."""

    classes: tuple[str, ...]
    years: tuple[str, ...]


# By (database, school): the generation an entry was read at, and the entry.
_purposes: dict[tuple[str, int], tuple[int, tuple[Purpose, ...]]] = {}
_groups: dict[tuple[str, int], tuple[int, Groups]] = {}
_lock = threading.Lock()
T = TypeVar("T")


def _key(school_id: int) -> tuple[str, int]:
    """The entry's key: the school, in this app's database (each engine gets a key of its
    own, once, so that two databases' schools of the same id never share an entry)."""
    engine = db.engine
    name: str | None = engine.__dict__.get("_portal_cache_name")
    if name is None:
        name = uuid.uuid4().hex
        engine.__dict__["_portal_cache_name"] = name
    return (name, school_id)


def _kept(
    store: dict[tuple[str, int], tuple[int, T]],
    school_id: int,
    generation: int,
    load: Callable[[], T],
) -> T:
    """The school's entry in `store` if it was read at `generation`; otherwise `load()`,
    kept in its place."""
    key = _key(school_id)
    found = store.get(key)
    if found is not None and found[0] == generation:
        return found[1]
    made = load()
    with _lock:
        store[key] = (generation, made)
    return made


def active_purposes(school_id: int, generation: int) -> Sequence[Purpose]:
    """The school's active purposes, in page order, as of `generation`."""

    def load() -> tuple[Purpose, ...]:
        session = db.session()
        loaded = tuple(session.scalars(_ACTIVE, {"school_id": school_id}))
        for purpose in loaded:
            session.expunge(purpose)
        return loaded

    return _kept(_purposes, school_id, generation, load)


def groups(school_id: int, generation: int) -> Groups:
    """The school's classes and year groups with pupils on roll, as of `generation`."""

    def load() -> Groups:
        classes: set[str] = set()
        years: set[str] = set()
        for class_name, year_group in db.session.execute(_GROUPS, {"school_id": school_id}):
            classes.add(class_name)
            if year_group:
                years.add(year_group)
        named = sorted((c for c in classes if c), key=str.casefold)
        return Groups(tuple(named), tuple(sorted(years)))

    return _kept(_groups, school_id, generation, load)


def clear() -> None:
    """Forget everything (tests that rebuild the database under the same ids)."""
    with _lock:
        _purposes.clear()
        _groups.clear()
