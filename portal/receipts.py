"""Receipts: after a guardian changes their choices, one email says what they changed.

`hook(guardian_id)` is a `before_commit` for `ledger.record_many`: in the transaction that
writes the events, it adds one outbox message per school for the decisions the guardian
made themself, due RECEIPT_DELAY_SECONDS later, with the coalesce key
`receipt:{guardian}:{school}`. The mail worker sends the messages that share a key as one
email, so several changes within a few minutes make one receipt. Each line carries its
event's short reference (`RP-1042-7F3A`, portal/references.py), which a family can read
out over the phone, and its full hash, so families hold witnesses of the chain (docs/ledger.md,
"Witnesses outside the database").

No Flask request state; the default delay is read from the app's config. The receipt is
written in the language the guardian reads (`email_language`).

An objection to direct marketing (or its withdrawal) is about all of the school's direct
marketing, not one purpose: the events it wrote, one per marketing purpose, make one line that
says so, with each event's reference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import languages
from .extensions import db
from .ledger import BeforeCommit
from .ledger.checkpoints import Witness, Witnessed, covering, witness
from .mail import outbox
from .models import (
    ActorType,
    ConsentEvent,
    Decision,
    Guardian,
    Pupil,
    Purpose,
    PurposeVersion,
    School,
)
from .queries import wording_at_event

TEMPLATE = "receipt"

DECISION_WORDS: dict[str, LazyString] = {
    Decision.GRANT: _l("Yes, you agreed"),
    Decision.WITHDRAW: _l("No, you said no"),
    Decision.OBJECT: _l("You objected"),
    Decision.LIFT_OBJECTION: _l("You withdrew your objection"),
}
# An objection to direct marketing and its withdrawal: about all of it, never one purpose.
MARKETING_CHOICE = _l("Direct marketing")
MARKETING_WORDS: dict[str, LazyString] = {
    Decision.OBJECT: _l("You objected to all direct marketing"),
    Decision.LIFT_OBJECTION: _l("You withdrew your objection to all direct marketing"),
}


def coalesce_key(guardian_id: int, school_id: int) -> str:
    return f"receipt:{guardian_id}:{school_id}"


def _own(event: ConsentEvent, guardian_id: int) -> bool:
    return (
        event.guardian_id == guardian_id
        and event.actor_type == ActorType.GUARDIAN
        and event.actor_id == guardian_id
    )


def hook(
    guardian_id: int, *, delay: timedelta | None = None, email: str | None = None
) -> BeforeCommit:
    """A `before_commit` for `ledger.record_many` that enqueues this guardian's receipt: one
    message per school, for the events that are the guardian's own decisions, made by them.
    Nothing for a guardian without an email address. `delay` defaults to the app's
    RECEIPT_DELAY_SECONDS; it counts from the events' time. `email`, when the caller has it
    (read with the session), saves reading it again."""
    wait = delay
    if wait is None:
        wait = timedelta(seconds=int(current_app.config["RECEIPT_DELAY_SECONDS"]))

    def enqueue_receipts(session: Session, events: list[ConsentEvent]) -> None:
        by_school: dict[int, list[ConsentEvent]] = defaultdict(list)
        for event in events:
            if _own(event, guardian_id):
                by_school[event.school_id].append(event)
        if not by_school:
            return
        # The address the caller read with the session, or the guardian's row.
        to = email or session.scalar(select(Guardian.email).where(Guardian.id == guardian_id))
        if not to:
            return
        for school_id, found in sorted(by_school.items()):
            at = max(event.occurred_at for event in found)
            outbox.enqueue(
                to_address=to,
                template=TEMPLATE,
                payload={
                    "guardian_id": guardian_id,
                    "school_id": school_id,
                    "events": sorted(event.seq for event in found),
                },
                school_id=school_id,
                coalesce_key=coalesce_key(guardian_id, school_id),
                send_after=at + wait,
                now=at,
            )

    return enqueue_receipts


def merge(payloads: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One receipt from several that share a coalesce key (so one guardian and one school):
    the union of their events."""
    first = payloads[0]
    seqs = sorted({int(seq) for payload in payloads for seq in payload["events"]})
    return {"guardian_id": first["guardian_id"], "school_id": first["school_id"], "events": seqs}


@dataclass(frozen=True)
class ReceiptLine(Witnessed):
    occurred_at: datetime
    child: str | None  # the child's first name; None for a choice of the guardian's own
    purpose: str  # the purpose's title in the wording version decided on
    decision: str
    seq: int
    # Its reference (portal/references.py: what a family reads out, like RP-1042-7F3A), its
    # full hash (the family's witness of the chain) and the address of its proof.
    own: Witness
    # The language of the wording they read when it is not English (a BCP 47 tag).
    language: str | None = None
    # An objection to all direct marketing, or its withdrawal (`MARKETING_WORDS`).
    marketing: bool = False
    # The other events of the same decision (one per marketing purpose).
    also: tuple[Witness, ...] = ()

    @property
    def who(self) -> str:
        return self.child or _("You")

    @property
    def words(self) -> str:
        words = (MARKETING_WORDS if self.marketing else DECISION_WORDS).get(self.decision)
        return str(words) if words is not None else self.decision


def lines(guardian_id: int, school_id: int, seqs: Sequence[int]) -> list[ReceiptLine]:
    """The receipt's events, oldest first: only this guardian's own decisions, made by them,
    at this school, the events of one objection to direct marketing (or its withdrawal) as one
    line. One query."""
    rows = db.session.execute(
        select(
            ConsentEvent.occurred_at,
            ConsentEvent.seq,
            ConsentEvent.hash,
            ConsentEvent.decision,
            ConsentEvent.language,
            Purpose.marketing,
            Pupil.forename.label("child"),
            func.coalesce(PurposeVersion.title, Purpose.title).label("purpose"),
            School.slug.label("school_slug"),
        )
        .join(School, School.id == ConsentEvent.school_id)
        .join(Purpose, Purpose.id == ConsentEvent.purpose_id)
        .outerjoin(
            PurposeVersion,
            wording_at_event(),
        )
        .outerjoin(Pupil, Pupil.id == ConsentEvent.pupil_id)
        .where(
            ConsentEvent.school_id == school_id,
            ConsentEvent.seq.in_([int(seq) for seq in seqs]),
            ConsentEvent.guardian_id == guardian_id,
            ConsentEvent.actor_type == ActorType.GUARDIAN.value,
            ConsentEvent.actor_id == guardian_id,
        )
        .order_by(ConsentEvent.seq)
    ).all()
    found: list[ReceiptLine] = []
    for row in rows:
        own = witness(school_id, row.school_slug, row.seq, row.hash)
        marketing = bool(row.marketing) and row.decision in MARKETING_WORDS
        last = found[-1] if found else None
        if (
            marketing
            and last is not None
            and last.marketing
            and (last.decision, last.occurred_at) == (row.decision, row.occurred_at)
        ):
            found[-1] = replace(last, also=(*last.also, own))
            continue
        found.append(
            ReceiptLine(
                occurred_at=row.occurred_at,
                child=row.child,
                purpose=str(MARKETING_CHOICE) if marketing else row.purpose,
                decision=row.decision,
                seq=row.seq,
                own=own,
                language=row.language if row.language and row.language != "en" else None,
                marketing=marketing,
            )
        )
    return found


# --- the receipt email (registered by portal.wiring) ------------------------------------------


def email_language(payload: dict[str, Any]) -> str | None:
    """The language the guardian reads (None: English)."""
    return languages.of_guardian(int(payload["guardian_id"]))


def email_context(payload: dict[str, Any], now: datetime) -> tuple[dict[str, Any] | None, str]:
    """A guardian's own decisions at one school: nothing about anyone else."""
    school = db.session.get(School, payload["school_id"])
    if school is None:
        return None, "the school no longer exists"
    found = lines(payload["guardian_id"], school.id, payload["events"])
    if not found:
        return None, "none of the receipt's decisions were found"
    base = current_app.config["BASE_URL"]
    return {
        "subject": _(
            "Your choices at %(school)s: a record of what you changed", school=school.name
        ),
        "school_name": school.name,
        "contact_email": school.contact_email,
        "lines": found,
        "history_url": f"{base}/family/history",
        "base_url": base,
        # Whether a signed checkpoint holds every event yet (their proofs are ready), or the
        # next one will.
        "proofs_ready": _covered(
            school.id, max(witness.leaf for line in found for witness in line.witnesses)
        ),
        "sign_in_url": f"{base}/sign-in",
    }, ""


def _covered(school_id: int, leaf: int) -> bool:
    return covering(school_id, leaf) is not None


SUBJECT = "{subject}"
