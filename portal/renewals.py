"""Renewal reminders: the daily job (`renewal_reminders`, registered by `portal.wiring`) that
emails a parent or carer when a "yes" of theirs has lapsed, so that a lapsed answer is not
silently a "no" until an admin thinks of sending an invitation
(docs/follow-through.md, "Renewal reminders").

**What lapses.** A guardian's own current "yes" to an active consent purpose, for a pupil on
roll they decide for (a current link with parental responsibility), that no longer counts
(`consent.grant_is_current`): the school changed the purpose's wording since (`reworded`,
lapsed when the next wording version was made), or the purpose's renewal period ran out
(`expired`, lapsed at `consent.grant_lapses_at`). What the family summary calls "needs
renewing" (`choices.family_summary`). Marketing purposes never prompt a reminder: an email
asking for marketing consent is itself direct marketing (docs/legal.md, section 10).

**Who is reminded, and how often.** For each school whose setting is on
(`School.renewal_reminders`, the school settings page; on by default), each guardian with an
email address who holds a lapse that happened after they were last reminded by the school
(`renewal_reminders.reminded_at`; never reminded: any lapse), unless they were reminded by
the school less than 14 days ago, or sent an invitation "only those with choices to answer
or renew" in that time. One lapse prompts one reminder; several lapses within a fortnight
make one reminder.

**At most one a fortnight, however many workers.** The daily machinery runs the job once a
day across workers (`portal.daily`); the rule holds even if two runs overlap. Each reminder
is claimed by one conditional upsert on the (school, guardian) row: inserted when there is
none, moved to now only when the last reminder is at least 14 days old, `RETURNING` the
guardians claimed. On PostgreSQL a second writer waits on the row and then finds the new
time; on SQLite writers take turns. Only the guardians claimed get an outbox row, in the
same transaction, whose dedupe key names the school, the guardian and the day.

**The email** is written when the mail worker sends it (`email_context`), in the language the
person reads (`email_language`): it names the school, how many answers need renewing and why,
and where to sign in, and nothing about any child. It is not sent when, by then, nothing of
theirs needs renewing any more, or the school has turned reminders off.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Table, and_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from . import consent, invitations, languages
from .database import writing
from .extensions import db
from .mail import outbox
from .models import (
    Choice,
    CurrentDecision,
    Decision,
    DecisionAxis,
    Guardian,
    GuardianLink,
    InvitationBatch,
    OutboxMessage,
    Pupil,
    Purpose,
    PurposeVersion,
    RenewalReminder,
    School,
    Scope,
)
from .queries import deciding_link
from .types import london_date

JOB = "renewal_reminders"
TEMPLATE = "renewal_reminder"
SUBJECT = "{headline}"
FORTNIGHT = timedelta(days=14)
REWORDED, EXPIRED = "reworded", "expired"
CHUNK = 900


@dataclass(frozen=True)
class Lapse:
    """One "yes" of a guardian's that no longer counts, why, and since when."""

    guardian_id: int
    email: str
    pupil_id: int
    purpose_id: int
    reason: str  # reworded | expired
    lapsed_at: datetime


def dedupe_key(school_id: int, guardian_id: int, day: date) -> str:
    return f"renewal:{school_id}:{guardian_id}:{day.isoformat()}"


def _purposes(school_id: int) -> list[Purpose]:
    """The school's purposes a reminder can be about: active consent purposes decided per
    child, marketing never (none of those is per child anyway)."""
    return list(
        db.session.scalars(
            select(Purpose).where(
                Purpose.school_id == school_id,
                Purpose.active.is_(True),
                Purpose.choice == Choice.CONSENT,
                Purpose.scope == Scope.PUPIL,
                Purpose.marketing.is_(False),
            )
        )
    )


def lapses(
    school_id: int, now: datetime, guardian_ids: Sequence[int] | None = None
) -> dict[int, list[Lapse]]:
    """Each guardian's lapsed answers at the school (only these guardians, when given), by
    guardian: three queries."""
    purposes = {p.id: p for p in _purposes(school_id)}
    if not purposes or (guardian_ids is not None and not guardian_ids):
        return {}
    made = {
        (purpose_id, version): created_at
        for purpose_id, version, created_at in db.session.execute(
            select(
                PurposeVersion.purpose_id, PurposeVersion.version, PurposeVersion.created_at
            ).where(
                PurposeVersion.school_id == school_id,
                PurposeVersion.purpose_id.in_(list(purposes)),
            )
        )
    }
    query = (
        select(
            CurrentDecision.guardian_id,
            CurrentDecision.pupil_id,
            CurrentDecision.purpose_id,
            CurrentDecision.decision,
            CurrentDecision.decided_at,
            CurrentDecision.purpose_version,
            CurrentDecision.seq,
            CurrentDecision.channel,
            CurrentDecision.actor_type,
            Guardian.email,
        )
        .join(
            GuardianLink,
            and_(
                GuardianLink.school_id == CurrentDecision.school_id,
                GuardianLink.guardian_id == CurrentDecision.guardian_id,
                GuardianLink.pupil_id == CurrentDecision.pupil_id,
            ),
        )
        .join(Pupil, Pupil.id == CurrentDecision.pupil_id)
        .join(Guardian, Guardian.id == CurrentDecision.guardian_id)
        .where(
            CurrentDecision.school_id == school_id,
            CurrentDecision.pupil_id.is_not(None),
            CurrentDecision.axis == DecisionAxis.ANSWER,
            CurrentDecision.decision == Decision.GRANT,
            CurrentDecision.purpose_id.in_(list(purposes)),
            deciding_link(),
            Pupil.school_id == school_id,
            Pupil.on_roll.is_(True),
            Guardian.email.is_not(None),
        )
    )
    if guardian_ids is not None:
        query = query.where(CurrentDecision.guardian_id.in_(list(guardian_ids)))
    found: dict[int, list[Lapse]] = defaultdict(list)
    for row in db.session.execute(query):
        purpose = purposes[row.purpose_id]
        fact = consent.Fact.of(row)
        if consent.grant_is_current(purpose, fact, now):
            continue
        reason, lapsed_at = _why(purpose, fact, made, now)
        found[row.guardian_id].append(
            Lapse(row.guardian_id, row.email, row.pupil_id, row.purpose_id, reason, lapsed_at)
        )
    return dict(found)


def _why(
    purpose: Purpose,
    fact: consent.Fact,
    made: dict[tuple[int, int], datetime],
    now: datetime,
) -> tuple[str, datetime]:
    """Why a grant that is not current lapsed, and when it first stopped counting: a new
    wording (made when the next version was), or its renewal period (whichever came first;
    a new wording is the reason given when both apply, since the family must read it)."""
    times = []
    reason = EXPIRED
    if fact.purpose_version < purpose.version:
        reason = REWORDED
        times.append(made.get((purpose.id, fact.purpose_version + 1), fact.decided_at))
    runs_out = consent.grant_lapses_at(purpose, fact.decided_at)
    if runs_out is not None and runs_out <= now:
        times.append(runs_out)
    return reason, min(times) if times else fact.decided_at


# --- the daily job -------------------------------------------------------------------------


def daily(today: date, now: datetime) -> str:
    """The daily job: remind at every school whose setting is on; a one-line summary."""
    school_ids = list(
        db.session.scalars(
            select(School.id).where(School.renewal_reminders.is_(True)).order_by(School.id)
        )
    )
    db.session.rollback()  # end the read: each school's reminders are a transaction of their own
    queued = sum(remind(school_id, now, today=today) for school_id in school_ids)
    return f"renewal reminders: {queued} queued at {len(school_ids)} school(s) with reminders on"


def remind(school_id: int, now: datetime, *, today: date | None = None) -> int:
    """Queue this school's renewal reminders due now, in one transaction; how many."""
    day = today or london_date(now)
    with writing() as session:
        on = session.scalar(select(School.renewal_reminders).where(School.id == school_id))
        if not on:
            return 0
        found = lapses(school_id, now)
        if not found:
            return 0
        last = _last_reminded(session, school_id, list(found))
        invited = _invited_lately(session, school_id, list(found), now)
        due = [
            guardian_id
            for guardian_id, items in sorted(found.items())
            if guardian_id not in invited and _due(items, last.get(guardian_id), now)
        ]
        claimed = _claim(session, school_id, due, now)
        outbox.enqueue_many(
            (
                (found[g][0].email, {"school_id": school_id, "guardian_id": g},
                 dedupe_key(school_id, g, day))
                for g in sorted(claimed)
            ),
            template=TEMPLATE,
            school_id=school_id,
            now=now,
        )  # fmt: skip
    return len(claimed)


def _due(items: Iterable[Lapse], last: datetime | None, now: datetime) -> bool:
    """A guardian is due a reminder when never reminded, or reminded at least a fortnight ago
    and a lapse of theirs happened since."""
    if last is None:
        return True
    return last <= now - FORTNIGHT and any(item.lapsed_at > last for item in items)


def _chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _last_reminded(session: Session, school_id: int, guardian_ids: list[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for chunk in _chunks(guardian_ids):
        for guardian_id, reminded_at in session.execute(
            select(RenewalReminder.guardian_id, RenewalReminder.reminded_at).where(
                RenewalReminder.school_id == school_id,
                RenewalReminder.guardian_id.in_(list(chunk)),
            )
        ):
            found[guardian_id] = reminded_at
    return found


def _invited_lately(
    session: Session, school_id: int, guardian_ids: list[int], now: datetime
) -> set[int]:
    """The guardians an admin sent an invitation "only those with choices to answer or
    renew" within the last fortnight: that was a reminder too."""
    batches = list(
        session.scalars(
            select(InvitationBatch.id).where(
                InvitationBatch.school_id == school_id,
                InvitationBatch.audience == invitations.Audience.NEEDS_ANSWER,
                InvitationBatch.created_at > now - FORTNIGHT,
            )
        )
    )
    if not batches:
        return set()
    keys = {
        invitations.dedupe_key(batch_id, guardian_id): guardian_id
        for batch_id in batches
        for guardian_id in guardian_ids
    }
    found: set[int] = set()
    wanted = sorted(keys)
    for start in range(0, len(wanted), CHUNK):
        for key in session.scalars(
            select(OutboxMessage.dedupe_key).where(
                OutboxMessage.school_id == school_id,
                OutboxMessage.dedupe_key.in_(wanted[start : start + CHUNK]),
            )
        ):
            if key is not None:
                found.add(keys[key])
    return found


def _claim(session: Session, school_id: int, guardian_ids: list[int], now: datetime) -> set[int]:
    """Claim a reminder for each of these guardians, where no other run claimed one within
    the last fortnight: one conditional upsert per chunk, returning the guardians claimed."""
    table = cast(Table, RenewalReminder.__table__)
    dialect = session.get_bind().dialect.name
    make = postgresql_insert if dialect == "postgresql" else sqlite_insert
    claimed: set[int] = set()
    for chunk in _chunks(guardian_ids):
        values = make(table).values(
            [{"school_id": school_id, "guardian_id": g, "reminded_at": now} for g in chunk]
        )
        statement = values.on_conflict_do_update(
            index_elements=[table.c.school_id, table.c.guardian_id],
            set_={"reminded_at": values.excluded.reminded_at},
            where=table.c.reminded_at <= now - FORTNIGHT,
        ).returning(table.c.guardian_id)
        claimed.update(session.scalars(statement))
    return claimed


# --- the email -----------------------------------------------------------------------------


def email_language(payload: dict[str, Any]) -> str | None:
    """The language the parent or carer reads (None: English)."""
    return languages.of_guardian(int(payload["guardian_id"]))


def email_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """What the reminder says, worked out when it is sent: the school, how many answers need
    renewing and why, where to sign in. Not sent when nothing needs renewing any more, or
    the school has turned reminders off meanwhile."""
    school_id, guardian_id = int(payload["school_id"]), int(payload["guardian_id"])
    found = db.session.execute(
        select(
            School.name,
            School.slug,
            School.contact_email,
            School.renewal_reminders,
            Guardian.email,
        )
        .select_from(School)
        .outerjoin(Guardian, Guardian.id == guardian_id)
        .where(School.id == school_id)
    ).one_or_none()
    if found is None or not found.email:
        return None, "not sent: the school or the person's email address no longer exists"
    if not found.renewal_reminders:
        return None, "not sent: the school has turned renewal reminders off"
    items = lapses(school_id, now, [guardian_id]).get(guardian_id, [])
    if not items:
        return None, "not sent: nothing of theirs needs renewing any more"
    reasons = {item.reason for item in items}
    base = current_app.config["BASE_URL"]
    return {
        "school_name": found.name,
        "contact_email": found.contact_email,
        "email": found.email,
        "count": len(items),
        "reworded": REWORDED in reasons,
        "expired": EXPIRED in reasons,
        "headline": _("%(school)s asks you to renew some of your answers", school=found.name),
        "lapsed": ngettext(
            "%(num)d answer you gave about your children no longer counts, so the school "
            "treats it as no until you answer again.",
            "%(num)d answers you gave about your children no longer count, so the school "
            "treats them as no until you answer again.",
            len(items),
        ),
        "sign_in_url": f"{base}/sign-in",
        "notice_url": f"{base}/schools/{found.slug}/privacy-notice",
    }, ""
