"""Writing what the rows changed, in bulk: the records `apply` added (no id yet) inserted and
those it changed updated, BATCH at a time (multi-row INSERTs, executemany UPDATEs), in the
caller's transaction. In order: pupils and people first (their new ids are read back), then
the school's names for its contacts and the links that refer to them.

A new person's address may have been added by another school's import since it was looked
up: the insert then leaves the row that is there (ON CONFLICT DO NOTHING) and the person's
id is read back by address, so two schools importing the same new parent both succeed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, false, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.util import identity_key

from ..extensions import db
from ..models import Guardian, GuardianLink, Pupil, SchoolContact
from .match import BATCH as LOOKUP_BATCH
from .match import ContactRecord, GuardianRecord, Known, LinkRecord, PupilRecord

BATCH = 1000  # rows per statement

_Item = TypeVar("_Item")


def save(school_id: int, known: Known, now: datetime) -> None:
    """Write every record `apply` added or changed."""
    _pupils(school_id, known, now)
    _people(known.added, now)
    _contacts(school_id, known)
    _links(school_id, known, now)
    _languages(known)
    _expire_changed(known)


def _languages(known: Known) -> None:
    """Each person's language from the file, unless they chose one themselves (then theirs
    stands) or already have that one."""
    table = _table(Guardian)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .where(table.c.language_chosen == false())
        .where(or_(table.c.language.is_(None), table.c.language != bindparam("b_language")))
        .values(language=bindparam("b_language"))
    )
    rows = [{"b_id": g.id, "b_language": tag} for g, tag in known.languages.items()]
    for batch in _batches(rows):
        db.session.execute(statement, batch)


def _expire_changed(known: Known) -> None:
    """The statements bypass the ORM: an object the session already holds for a row they
    changed (a pupil, a link, a name), or whose `links` they added to, is read again when
    next used, as if the ORM had written it. Other objects keep their state."""
    stale: list[tuple[Any, int | None, str | None]] = []
    for pupil in known.pupils.values():
        if pupil.changed:
            stale.append((Pupil, pupil.id, None))
    for contact in known.contacts.values():
        if contact.changed:
            stale.append((SchoolContact, contact.id, None))
    for link in known.links.values():
        if link.changed:
            stale.append((GuardianLink, link.id, None))
        # A new link: the pupil's and the person's loaded `links` lack it.
        if link.id is None:
            stale += [(Pupil, link.pupil.id, "links"), (Guardian, link.guardian.id, "links")]
    stale += [(Guardian, guardian.id, "language") for guardian in known.languages]
    for model, row_id, attribute in stale:
        obj = db.session.identity_map.get(identity_key(model, row_id))
        if obj is not None:
            db.session.expire(obj, [attribute] if attribute else None)


def _batches(items: Sequence[_Item]) -> Iterator[Sequence[_Item]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


def _update_by_id(table: Table, rows: Iterator[dict[str, Any]]) -> None:
    """UPDATE each row (`b_id` and the columns to set), BATCH rows per executemany."""
    statement = update(table).where(table.c.id == bindparam("b_id"))
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            db.session.execute(statement, batch)
            batch = []
    if batch:
        db.session.execute(statement, batch)


def _pupils(school_id: int, known: Known, now: datetime) -> None:
    table = _table(Pupil)
    added = {pupil.mis_id: pupil for pupil in known.pupils.values() if pupil.id is None}
    statement = insert(table).returning(table.c.id, table.c.mis_id)  # a school's MIS ids differ
    for batch in _batches(list(added.values())):
        values = [{"school_id": school_id, **_pupil(p), "created_at": now} for p in batch]
        for pupil_id, mis_id in db.session.execute(
            statement, [{**v, "updated_at": now} for v in values]
        ):
            added[mis_id].id = pupil_id
    changed = (p for p in known.pupils.values() if p.changed and p.id is not None)
    _update_by_id(table, ({"b_id": p.id, **_pupil(p), "updated_at": now} for p in changed))


def _pupil(pupil: PupilRecord) -> dict[str, Any]:
    return {
        "mis_id": pupil.mis_id,
        "forename": pupil.forename,
        "surname": pupil.surname,
        "year_group": pupil.year_group,
        "class_name": pupil.class_name,
        "on_roll": pupil.on_roll,
        "left_on": pupil.left_on,
    }


def _people(added: list[GuardianRecord], now: datetime) -> None:
    table = _table(Guardian)
    by_email = {g.email: g for g in added if g.email is not None}
    addresses = sorted(by_email)
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(table.c.id, table.c.email)
    )
    for batch in _batches(addresses):
        rows = [{"email": email, "created_at": now} for email in batch]
        for guardian_id, email in db.session.execute(statement, rows):
            by_email[email].id = guardian_id
    # Added meanwhile by another school's import: the insert left it, so it is looked up.
    taken = [email for email in addresses if by_email[email].id is None]
    for start in range(0, len(taken), LOOKUP_BATCH):
        chunk = taken[start : start + LOOKUP_BATCH]
        for guardian_id, email in db.session.execute(
            select(table.c.id, table.c.email).where(table.c.email.in_(chunk))
        ):
            by_email[email].id = guardian_id
    paper = [g for g in added if g.email is None]
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    for people in _batches(paper):
        ids = db.session.scalars(statement, [{"email": None, "created_at": now} for _ in people])
        for guardian, guardian_id in zip(people, ids.all(), strict=True):
            guardian.id = guardian_id


def _contacts(school_id: int, known: Known) -> None:
    table = _table(SchoolContact)
    added = [c for c in known.contacts.values() if c.id is None]
    for batch in _batches(added):
        db.session.execute(
            insert(table),
            [{"school_id": school_id, "guardian_id": c.guardian.id, **_name(c)} for c in batch],
        )
    changed = (c for c in known.contacts.values() if c.changed and c.id is not None)
    _update_by_id(table, ({"b_id": c.id, **_name(c)} for c in changed))


def _name(contact: ContactRecord) -> dict[str, Any]:
    return {"forename": contact.forename, "surname": contact.surname}


def _links(school_id: int, known: Known, now: datetime) -> None:
    table = _table(GuardianLink)
    added = [link for link in known.links.values() if link.id is None]
    for batch in _batches(added):
        db.session.execute(
            insert(table),
            [
                {
                    "school_id": school_id,
                    "guardian_id": link.guardian.id,
                    "pupil_id": link.pupil.id,
                    **_link(link),
                    "created_at": now,
                    "updated_at": now,
                }
                for link in batch
            ],
        )
    changed = (link for link in known.links.values() if link.changed and link.id is not None)
    _update_by_id(table, ({"b_id": link.id, **_link(link), "updated_at": now} for link in changed))


def _link(link: LinkRecord) -> dict[str, Any]:
    return {
        "relationship": link.relationship_label,
        "parental_responsibility": link.parental_responsibility,
        "ended_at": link.ended_at,
    }
