"""Finding a pupil: by the words of their name (or their MIS id), in a class."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select

from ..extensions import db
from ..models import Pupil

MAX_QUERY = 100
RESULTS_LIMIT = 100


@dataclass(frozen=True)
class Search:
    query: str
    class_name: str
    pupils: list[Pupil]
    total: int  # how many match; at most RESULTS_LIMIT are in `pupils`

    @property
    def truncated(self) -> bool:
        return self.total > len(self.pupils)


def class_names(school_id: int) -> list[str]:
    """The school's classes (of pupils on roll), in order."""
    return list(
        db.session.scalars(
            select(Pupil.class_name)
            .where(Pupil.school_id == school_id, Pupil.on_roll.is_(True))
            .distinct()
            .order_by(Pupil.class_name)
        )
    )


def find_pupils(
    school_id: int, *, query: str = "", class_name: str = "", limit: int = RESULTS_LIMIT
) -> Search:
    """The school's pupils whose names contain every word of `query` (or whose MIS id is one
    of them), in `class_name` when given; on roll first, then by name. One query (two when
    `limit` is 0 and some match)."""
    query = " ".join((query or "").split())[:MAX_QUERY]
    class_name = (class_name or "").strip()
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
