"""Recording a guardian's decision for one or several of their children at one school."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from .. import consent, ledger, receipts
from ..errors import NotFound
from ..extensions import db
from ..ledger import Actor, DecisionRequest, LedgerError
from ..models import (
    Channel,
    ConsentEvent,
    Decision,
    GuardianLink,
    Pupil,
    Purpose,
    Scope,
)
from ..purposes import wordings
from .family import Family, responsible_for
from .page import grant_needs_renewal


class StaleChoice(LedgerError):
    """The form answered an older wording of the purpose than the one now in force: the
    person has not seen what they would be agreeing to, so nothing is recorded."""


def decide(
    guardian_id: int,
    pupil_ids: Sequence[int],
    purpose_id: int,
    decision: str,
    *,
    note: str | None = None,
    purpose_version: int | None = None,
    notice_version: int | None = None,
    now: datetime | None = None,
    family: Family | None = None,
    language: str | None = None,
    email: str | None = None,
) -> list[ConsentEvent]:
    """Record this guardian's own decision for one or several of their children at one school:
    one ledger event per child, in one transaction. NotFound (nothing written) unless every
    pupil is this guardian's child and the purpose is of their school; StaleChoice when
    `purpose_version` (the wording the form showed) is not the current one; LedgerError for
    a decision that does not fit the purpose.

    Every change queues this guardian's receipt email (`receipts.hook`), in the same
    transaction. A decision that is already this guardian's current one for a child (a
    double-submit, or the same answer from another tab) records nothing for that child: the
    newest decision stands either way. A grant that needs renewal is recorded again, as the
    renewal. `family`, when the caller has read it (`family_of`), saves reading the children
    again.

    `email`, the guardian's address when the caller read it with the session, saves reading
    it for the receipt.

    `language` is the language of the page the guardian answered on (a BCP 47 tag; None:
    English). Each event records the language of the wording that page showed: that tag
    when the school has a translation of the purpose's current wording into it, else "en"
    (docs/ledger.md, "Format 2").
    """
    wanted = list(dict.fromkeys(pupil_ids))
    if not wanted:
        raise NotFound("no child chosen")
    school_id = _their_school(guardian_id, wanted, family)
    # An active purpose, from what the family's page keeps of the school; a retired one (its
    # "yes" can still be withdrawn) from the database.
    kept = family.purposes(school_id) if family is not None else ()
    purpose = next((p for p in kept if p.id == purpose_id), None) or db.session.get(
        Purpose, purpose_id
    )
    if purpose is None or purpose.school_id != school_id or purpose.scope != Scope.PUPIL:
        raise NotFound("no such purpose")
    if purpose_version is not None and purpose_version != purpose.version:
        raise StaleChoice(f"{purpose.title!r} has been reworded since the page was opened")
    shown_in = wordings([purpose], language)[purpose.id].language

    def unchanged(
        request: DecisionRequest, row: ledger.StandingDecision | None, at: datetime
    ) -> bool:
        """Asked by the ledger under the school's chain lock, so that twenty identical
        answers at once are one decision."""
        if row is None:
            # Nothing to withdraw or lift is not a change either: no answer already means no.
            return decision == Decision.LIFT_OBJECTION
        if row.decision != decision:
            return False
        return not grant_needs_renewal(purpose, consent.Fact.of(row), at)

    requests = [
        DecisionRequest(
            guardian_id=guardian_id,
            purpose_id=purpose_id,
            decision=decision,
            pupil_id=pupil_id,
            note=note,
            purpose_version=purpose_version,
            notice_version=notice_version,
            language=shown_in,
        )
        for pupil_id in wanted
    ]
    return ledger.record_many(
        requests,
        actor=Actor.guardian(guardian_id),
        channel=Channel.WEB.value,
        before_commit=receipts.hook(guardian_id, email=email),
        now=now,
        skip_if=unchanged,
    )


def _their_school(guardian_id: int, wanted: list[int], family: Family | None) -> int:
    """The one school of the children `wanted`: NotFound unless every one of them is this
    guardian's child and they are all at the same school."""
    if family is not None:  # read already by the caller: this guardian's children
        mine = {p.id: p.school_id for group in family.children for p in group.pupils}
        rows = [(p, mine[p]) for p in wanted if p in mine]
    else:
        rows = [
            (pupil_id, school_id)
            for pupil_id, school_id in db.session.execute(
                select(Pupil.id, Pupil.school_id)
                .join(GuardianLink, responsible_for(guardian_id))
                .where(Pupil.id.in_(wanted))
            )
        ]
    schools = {school_id for _, school_id in rows}
    if len(rows) != len(wanted) or len(schools) != 1:
        raise NotFound("no such child")
    return schools.pop()
