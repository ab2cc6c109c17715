"""What a family is told about the tasks done for their child: the fact and the day ("The
school removed Aisha's photos on the school website on 3 March 2026"), never the staff's note
(it may name places or people). Callers pass only the guardian's own children."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import and_, bindparam, select

from .. import languages
from ..database import read
from ..models import OnLeaving, Pupil, Purpose, TakedownTask, TaskKind
from ..types import london_date
from .task_list import lower_first


@dataclass(frozen=True)
class Outcome:
    pupil_id: int
    child: str  # the child's first name
    purpose_id: int
    purpose: str  # the purpose's title
    kind: str
    action: str | None
    done_on: date  # London

    @property
    def sentence(self) -> Markup:
        """The sentence in the current language, the child's name isolated (`<bdi>`)."""
        values = {
            "child": Markup("<bdi>{}</bdi>").format(self.child),
            "purpose": lower_first(self.purpose),
            "date": languages.long_date(self.done_on),
        }
        if self.kind == TaskKind.LEAVING and self.action == OnLeaving.REVIEW:
            message = _(
                "After %(child)s left, the school reviewed %(child)s's %(purpose)s on %(date)s."
            )
        else:
            message = _("The school removed %(child)s's %(purpose)s on %(date)s.")
        # The message is ours (a catalogue's), trusted as Jinja trusts a translation; the
        # values are escaped by Markup's %.
        return Markup(message) % values  # noqa: S704


# Built once, with the pupils as an expanding parameter: SQLAlchemy compiles it once per
# process. Columns only: the task's own, not the task as an object.
_DONE = (
    select(
        TakedownTask.pupil_id,
        Pupil.forename,
        TakedownTask.purpose_id,
        Purpose.title,
        TakedownTask.kind,
        TakedownTask.action,
        TakedownTask.done_at,
    )
    .join(
        Pupil,
        and_(Pupil.id == TakedownTask.pupil_id, Pupil.school_id == TakedownTask.school_id),
    )
    .join(
        Purpose,
        and_(Purpose.id == TakedownTask.purpose_id, Purpose.school_id == TakedownTask.school_id),
    )
    .where(
        TakedownTask.pupil_id.in_(bindparam("pupil_ids", expanding=True)),
        TakedownTask.done_at.is_not(None),
    )
    .order_by(TakedownTask.done_at.desc(), TakedownTask.id.desc())
)


def done_for(pupil_ids: Iterable[int]) -> list[Outcome]:
    """The tasks done for these pupils, newest first."""
    wanted = sorted(set(pupil_ids))
    if not wanted:
        return []
    return [
        Outcome(
            pupil_id=row.pupil_id,
            child=row.forename,
            purpose_id=row.purpose_id,
            purpose=row.title,
            kind=row.kind,
            action=row.action,
            done_on=london_date(row.done_at),
        )
        for row in read(_DONE, {"pupil_ids": wanted})
    ]
