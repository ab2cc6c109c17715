"""Finding a pupil: by the words of their name (or their MIS id), in a class, or by the
family's reference printed on a paper form (`portal/paper/references.py`), which finds the
child and names the parent or carer whose form it is."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from .. import paper, school_cache
from ..extensions import db
from ..models import GuardianLink, Pupil, SchoolContact

MAX_QUERY = 100
RESULTS_LIMIT = 100


@dataclass(frozen=True)
class FamilyFound:
    """The family's reference that was searched for: whose form it is."""

    reference: str
    pupil_id: int
    guardian_id: int
    name: str  # the name the school holds for the guardian


@dataclass(frozen=True)
class Search:
    query: str
    class_name: str
    pupils: list[Pupil]
    total: int  # how many match; at most RESULTS_LIMIT are in `pupils`
    family: FamilyFound | None = None  # the query was a family's reference, found
    # The query has the shape of a family's reference, but its check letters do not fit.
    bad_reference: bool = False

    @property
    def truncated(self) -> bool:
        return self.total > len(self.pupils)


def class_names(school_id: int, generation: int) -> list[str]:
    """The school's classes (of pupils on roll), in order, as the photo check lists them: no
    query once they are kept for the school's `generation` (`portal.school_cache`)."""
    return list(school_cache.groups(school_id, generation).classes)


def find_pupils(
    school_id: int, *, query: str = "", class_name: str = "", limit: int = RESULTS_LIMIT
) -> Search:
    """The school's pupils whose names contain every word of `query` (or whose MIS id is one
    of them), in `class_name` when given; on roll first, then by name. One query (two when
    `limit` is 0 and some match)."""
    query = " ".join((query or "").split())[:MAX_QUERY]
    class_name = (class_name or "").strip()
    try:
        reference = paper.parse_reference(query)
    except paper.BadFamilyReference:
        pass
    else:
        return _by_reference(school_id, query, class_name, reference)
    where = [Pupil.school_id == school_id]
    for word in query.split(" ") if query else []:
        where.append(
            or_(
                Pupil.forename.icontains(word, autoescape=True),
                Pupil.surname.icontains(word, autoescape=True),
                Pupil.mis_id == word,
            )
        )
    if class_name:
        where.append(Pupil.class_name == class_name)
    # The count of every match comes with the first `limit` of them (a window function is
    # computed before the LIMIT).
    rows = db.session.execute(
        select(Pupil, func.count().over().label("total"))
        .where(*where)
        .order_by(Pupil.on_roll.desc(), Pupil.surname, Pupil.forename, Pupil.id)
        .limit(limit)
    ).all()
    pupils = [row[0] for row in rows]
    if rows:
        total = int(rows[0].total)
    elif limit > 0:
        total = 0  # no row at all: nothing matches
    else:
        total = db.session.scalar(select(func.count()).select_from(Pupil).where(*where)) or 0
    return Search(query, class_name, pupils, total)


def _by_reference(
    school_id: int, query: str, class_name: str, reference: paper.references.Parsed
) -> Search:
    """The child of a family's reference, when its check letters fit and the guardian is a
    contact of that child at this school (in `class_name`, when given). Two queries."""
    if not reference.checks:
        return Search(query, class_name, [], 0, bad_reference=True)
    where = [
        Pupil.school_id == school_id,
        Pupil.id == reference.pupil_id,
        GuardianLink.guardian_id == reference.guardian_id,
    ]
    if class_name:
        where.append(Pupil.class_name == class_name)
    row = db.session.execute(
        select(Pupil, SchoolContact.forename, SchoolContact.surname)
        .join(
            GuardianLink,
            (GuardianLink.pupil_id == Pupil.id) & (GuardianLink.school_id == Pupil.school_id),
        )
        .outerjoin(
            SchoolContact,
            (SchoolContact.school_id == Pupil.school_id)
            & (SchoolContact.guardian_id == GuardianLink.guardian_id),
        )
        .where(*where)
    ).first()
    if row is None:
        return Search(query, class_name, [], 0)
    pupil, forename, surname = row
    found = FamilyFound(
        reference=paper.family_reference(pupil.school.slug, pupil.id, reference.guardian_id),
        pupil_id=pupil.id,
        guardian_id=reference.guardian_id,
        name=f"{forename or ''} {surname or ''}".strip(),
    )
    return Search(query, class_name, [pupil], 1, family=found)
