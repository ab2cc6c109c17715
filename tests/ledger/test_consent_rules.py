"""The consent rules (docs/consent-rules.md, "Effective status of one pupil for one purpose").

`consent.evaluate` is a pure function of a purpose, the pupil's roll status, the latest
decision of each guardian with parental responsibility, and the time: most tests here need
no database. The last few go through the ledger and `consent.statuses`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal import consent, purposes, roster
from portal.consent import Fact, Status
from portal.extensions import db
from portal.models import Purpose, Scope
from portal.types import utcnow
from tests.support.factories import PURPOSES_OF_EVERY_KIND
from tests.support.world import decide

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2025, 11, 3, 10, 0, tzinfo=UTC)


def purpose(
    choice: str = "consent",
    *,
    rule: str = "any_objection_blocks",
    renewal: str = "never",
    days: int | None = None,
    version: int = 1,
) -> Purpose:
    """A purpose as the rules see it (not saved anywhere)."""
    return Purpose(
        id=7,
        school_id=1,
        key="p",
        title="A purpose",
        description="What we do.",
        choice=choice,
        lawful_basis={"consent": "consent", "objection": "public_task"}.get(
            choice, "legal_obligation"
        ),
        scope="pupil",
        guardian_rule=rule,
        renewal=renewal,
        renewal_days=days,
        version=version,
        marketing=False,
    )


def fact(
    guardian: int, decision: str, seq: int, *, at: datetime | None = None, version: int = 1
) -> Fact:
    return Fact(
        guardian_id=guardian,
        decision=decision,
        decided_at=at or NOW - timedelta(days=1),
        purpose_version=version,
        seq=seq,
    )


def evaluate(p: Purpose, *facts: Fact, on_roll: bool = True, now: datetime = NOW):
    return consent.evaluate(p, on_roll=on_roll, facts=list(facts), now=now)


# --- any_objection_blocks (the default) ------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ((), (Status.NO_RESPONSE, False)),
        ((fact(1, "grant", 1),), (Status.GRANTED, False)),
        ((fact(1, "grant", 1), fact(2, "grant", 2)), (Status.GRANTED, False)),
        ((fact(1, "withdraw", 1),), (Status.WITHDRAWN, False)),
        ((fact(1, "withdraw", 1), fact(2, "withdraw", 2)), (Status.WITHDRAWN, False)),
        # One "no" wins, whichever came first, and staff see the disagreement.
        ((fact(1, "grant", 1), fact(2, "withdraw", 2)), (Status.WITHDRAWN, True)),
        ((fact(1, "withdraw", 1), fact(2, "grant", 2)), (Status.WITHDRAWN, True)),
        (
            (fact(1, "grant", 5), fact(2, "grant", 6), fact(3, "withdraw", 2)),
            (Status.WITHDRAWN, True),
        ),
    ],
    ids=[
        "nobody",
        "one-grant",
        "two-grants",
        "one-withdrew",
        "both-withdrew",
        "grant-then-withdraw",
        "withdraw-then-grant",
        "two-grants-one-withdrawal",
    ],
)
def test_any_objection_blocks(facts, expected):
    assert evaluate(purpose(), *facts) == expected


def test_any_objection_blocks_one_guardian_silent_is_granted_without_conflict():
    # Only one of two guardians answered: the silent one has no latest decision to differ.
    assert evaluate(purpose(), fact(1, "grant", 1)) == (Status.GRANTED, False)


# --- latest_wins -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ((), (Status.NO_RESPONSE, False)),
        ((fact(1, "grant", 1),), (Status.GRANTED, False)),
        ((fact(1, "withdraw", 1),), (Status.WITHDRAWN, False)),
        ((fact(1, "grant", 1), fact(2, "withdraw", 2)), (Status.WITHDRAWN, True)),
        ((fact(1, "withdraw", 1), fact(2, "grant", 2)), (Status.GRANTED, True)),
        # The order of the list does not matter: the ledger's seq says which is latest.
        ((fact(2, "grant", 9), fact(1, "withdraw", 4)), (Status.GRANTED, True)),
        ((fact(2, "withdraw", 9), fact(1, "grant", 4)), (Status.WITHDRAWN, True)),
    ],
    ids=[
        "nobody",
        "grant",
        "withdraw",
        "grant-then-withdraw",
        "withdraw-then-grant",
        "latest-first-grant",
        "latest-first-withdraw",
    ],
)
def test_latest_wins(facts, expected):
    assert evaluate(purpose(rule="latest_wins"), *facts) == expected


def test_latest_wins_a_latest_grant_to_an_old_wording_needs_renewal():
    p = purpose(rule="latest_wins", version=2)
    facts = (fact(1, "grant", 1, version=2), fact(2, "grant", 2, version=1))
    assert evaluate(p, *facts) == (Status.NEEDS_RENEWAL, False)
    # ... and the other way round, the latest grant is current.
    facts = (fact(1, "grant", 2, version=2), fact(2, "grant", 1, version=1))
    assert evaluate(p, *facts) == (Status.GRANTED, False)


# --- objection purposes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ((), (Status.ALLOWED, False)),
        # An objection the school has not answered stops it while it is reviewed.
        ((fact(1, "object", 1),), (Status.UNDER_REVIEW, False)),
        ((fact(1, "lift_objection", 2),), (Status.ALLOWED, False)),
        ((fact(1, "object", 1), fact(2, "lift_objection", 3)), (Status.UNDER_REVIEW, True)),
        ((fact(1, "lift_objection", 3), fact(2, "lift_objection", 4)), (Status.ALLOWED, False)),
        # The school's outcome: upheld stops it for good; not upheld lets it go ahead.
        ((fact(1, "upheld", 2),), (Status.OBJECTED, False)),
        ((fact(1, "not_upheld", 2),), (Status.ALLOWED, False)),
        ((fact(1, "upheld", 2), fact(2, "object", 3)), (Status.OBJECTED, True)),
        ((fact(1, "not_upheld", 2), fact(2, "object", 3)), (Status.UNDER_REVIEW, True)),
        ((fact(1, "not_upheld", 2), fact(2, "lift_objection", 3)), (Status.ALLOWED, True)),
    ],
    ids=[
        "nobody",
        "under-review",
        "lifted",
        "one-under-review-one-lifted",
        "both-lifted",
        "upheld",
        "not-upheld",
        "upheld-and-another-under-review",
        "not-upheld-and-another-under-review",
        "not-upheld-and-another-lifted",
    ],
)
def test_objection_purpose(facts, expected):
    assert evaluate(purpose("objection"), *facts) == expected


def test_an_objection_purpose_ignores_renewal_and_wording_versions():
    p = purpose("objection", renewal="days", days=1, version=3)
    old = NOW - timedelta(days=400)
    assert evaluate(p, fact(1, "lift_objection", 1, at=old)) == (Status.ALLOWED, False)
    assert evaluate(p, fact(1, "object", 1, at=old)) == (Status.UNDER_REVIEW, False)
    assert evaluate(p, fact(1, "upheld", 1, at=old)) == (Status.OBJECTED, False)


# --- needs renewal ----------------------------------------------------------------------------


def test_a_grant_to_an_older_wording_needs_renewal():
    assert evaluate(purpose(version=2), fact(1, "grant", 1, version=1)) == (
        Status.NEEDS_RENEWAL,
        False,
    )
    assert evaluate(purpose(version=2), fact(1, "grant", 1, version=2)) == (Status.GRANTED, False)


def test_one_current_grant_is_enough_beside_a_grant_that_needs_renewal():
    # The lapsed grant counts as "needs renewal", not as a "no": nobody withdrew.
    p = purpose(version=2)
    assert evaluate(p, fact(1, "grant", 1, version=1), fact(2, "grant", 2, version=2)) == (
        Status.GRANTED,
        False,
    )


def test_a_lapsed_grant_beside_a_withdrawal_is_withdrawn():
    p = purpose(version=2)
    assert evaluate(p, fact(1, "grant", 1, version=1), fact(2, "withdraw", 2, version=2)) == (
        Status.WITHDRAWN,
        True,
    )


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("given", "now", "expected"),
    [
        # Given on 31 August: lapses at the very start of 1 September (London time).
        (london(2025, 8, 31, 12), london(2025, 8, 31, 23, 59, 59, 999999), Status.GRANTED),
        (london(2025, 8, 31, 12), london(2025, 9, 1), Status.NEEDS_RENEWAL),
        # Given at 00:30 on 1 September in London, which is still 31 August in UTC (BST):
        # it belongs to the new academic year.
        (london(2025, 9, 1, 0, 30), london(2026, 8, 31, 23, 59, 59), Status.GRANTED),
        (london(2025, 9, 1, 0, 30), london(2026, 9, 1), Status.NEEDS_RENEWAL),
        # Given on 1 September 2025 lapses on 1 September 2026, not 2025 and not 2027.
        (london(2025, 9, 1), london(2026, 8, 31, 23, 59, 59, 999999), Status.GRANTED),
        (london(2025, 9, 1), london(2026, 9, 1), Status.NEEDS_RENEWAL),
        (london(2025, 9, 1), london(2027, 9, 1), Status.NEEDS_RENEWAL),
        # Given in winter (GMT): lapses on the next 1 September.
        (london(2026, 1, 15, 23, 30), london(2026, 8, 31, 23), Status.GRANTED),
        (london(2026, 1, 15, 23, 30), london(2026, 9, 1, 0, 0, 1), Status.NEEDS_RENEWAL),
    ],
)
def test_academic_year_renewal_in_london_time(given, now, expected):
    p = purpose(renewal="academic_year")
    # The ledger stores UTC; the rule must still think in London time.
    at = given.astimezone(UTC)
    assert evaluate(p, fact(1, "grant", 1, at=at), now=now.astimezone(UTC)) == (expected, False)


def test_academic_year_boundary_is_midnight_in_london_not_in_utc():
    p = purpose(renewal="academic_year")
    given = datetime(2025, 3, 1, 12, tzinfo=UTC)
    # 23:30 UTC on 31 August 2025 is already 00:30 on 1 September in London.
    late = datetime(2025, 8, 31, 23, 30, tzinfo=UTC)
    assert evaluate(p, fact(1, "grant", 1, at=given), now=late)[0] is Status.NEEDS_RENEWAL
    early = datetime(2025, 8, 31, 22, 59, 59, tzinfo=UTC)
    assert evaluate(p, fact(1, "grant", 1, at=given), now=early)[0] is Status.GRANTED


def test_renewal_in_days():
    p = purpose(renewal="days", days=30)
    given = datetime(2025, 10, 1, 8, tzinfo=UTC)
    just_before = given + timedelta(days=30) - timedelta(microseconds=1)
    assert evaluate(p, fact(1, "grant", 1, at=given), now=just_before)[0] is Status.GRANTED
    at_the_end = given + timedelta(days=30)
    assert evaluate(p, fact(1, "grant", 1, at=given), now=at_the_end)[0] is Status.NEEDS_RENEWAL


def test_no_renewal_never_lapses():
    given = datetime(2001, 1, 1, tzinfo=UTC)
    assert evaluate(purpose(), fact(1, "grant", 1, at=given))[0] is Status.GRANTED


def test_withdrawal_does_not_lapse():
    p = purpose(renewal="days", days=1)
    old = NOW - timedelta(days=90)
    assert evaluate(p, fact(1, "withdraw", 1, at=old)) == (Status.WITHDRAWN, False)


# --- off roll, information only -------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "facts"),
    [
        (purpose(), (fact(1, "grant", 1), fact(2, "grant", 2))),
        (purpose(rule="latest_wins"), (fact(1, "grant", 1),)),
        (purpose(), ()),
        (purpose("objection"), ()),
        (purpose("objection"), (fact(1, "lift_objection", 1),)),
        (purpose("none"), ()),
    ],
    ids=[
        "granted",
        "latest-wins-granted",
        "no-response",
        "objection-allowed",
        "lifted",
        "information",
    ],
)
def test_a_pupil_off_roll_is_not_on_roll_whatever_was_decided(p, facts):
    status, _ = evaluate(p, *facts, on_roll=False)
    assert status is Status.NOT_ON_ROLL
    effective = consent.EffectiveStatus(1, p.id, status, False, ())
    assert not effective.permits


def test_information_only_purpose():
    assert evaluate(purpose("none")) == (Status.INFORMATION, False)


@pytest.mark.parametrize(
    ("status", "permits"),
    [(Status.GRANTED, True), (Status.ALLOWED, True)]
    + [(s, False) for s in Status if s not in {Status.GRANTED, Status.ALLOWED}],
)
def test_only_granted_and_allowed_permit(status, permits):
    assert consent.EffectiveStatus(1, 2, status, False, ()).permits is permits


# --- through the ledger and the projection --------------------------------------------------


def record(world, guardian, key, decision, *, pupil=None, **kw):
    return decide(guardian, world.oak.purposes[key], decision, pupil=pupil, **kw)


def test_statuses_say_why_whose_decision_when_and_how(world):
    a = world.oak.pupils["A"]
    photos = world.oak.purposes["photos-website"]
    first = record(world, world.ada, "photos-website", "grant", pupil=a)
    second = record(world, world.ben, "photos-website", "withdraw", pupil=a, staff=world.oak.staff)

    found = consent.status_for(a, photos)

    assert (found.status, found.conflict, found.permits) == (Status.WITHDRAWN, True, False)
    # Only the two guardians with parental responsibility, not the grandparent.
    views = {v.guardian_id: v for v in found.guardians}
    assert set(views) == {world.ada.id, world.ben.id}
    assert views[world.ada.id].name == "ada Test"
    assert (views[world.ada.id].decision, views[world.ada.id].channel) == ("grant", "web")
    assert (views[world.ada.id].seq, views[world.ada.id].decided_at) == (1, first.occurred_at)
    assert views[world.ada.id].actor_type == "guardian"
    assert (views[world.ben.id].decision, views[world.ben.id].channel) == ("withdraw", "paper")
    assert (views[world.ben.id].actor_type, views[world.ben.id].seq) == ("staff", second.seq)
    assert not views[world.ben.id].lapsed


def test_a_guardian_whose_link_ended_no_longer_counts(world):
    a = world.oak.pupils["A"]
    photos = world.oak.purposes["photos-website"]
    record(world, world.ada, "photos-website", "grant", pupil=a)
    record(world, world.ben, "photos-website", "withdraw", pupil=a)
    assert consent.status_for(a, photos).status is Status.WITHDRAWN

    # The school's roster no longer lists Ben for pupil A.
    header = ",".join(roster.REQUIRED_COLUMNS)
    roster.import_roster(
        world.oak.school, f"{header}\nA,PupilA,Test,3,3 Oak,ada,Test,ada@example.org,Parent,yes\n"
    )

    found = consent.status_for(a, photos)
    assert (found.status, found.conflict) == (Status.GRANTED, False)
    assert [v.guardian_id for v in found.guardians] == [world.ada.id]


def test_statuses_of_a_wording_change_and_of_a_pupil_who_left(world):
    a, b = world.oak.pupils["A"], world.oak.pupils["B"]
    photos = world.oak.purposes["photos-website"]
    record(world, world.ada, "photos-website", "grant", pupil=a)
    record(world, world.ada, "photos-website", "grant", pupil=b)

    reworded = PURPOSES_OF_EVERY_KIND.replace(photos.description, "Photos, now also on Instagram.")
    assert purposes.load(world.oak.school, reworded).reworded == ["photos-website"]
    assert photos.version == 2
    found = consent.statuses([a.id, b.id], [photos], school_id=world.oak.id)
    assert found[(a.id, photos.id)].status is Status.NEEDS_RENEWAL
    assert [v.lapsed for v in found[(a.id, photos.id)].guardians if v.decision] == [True]

    b.on_roll, b.left_on = False, NOW.date()  # the pupil left
    db.session.commit()
    found = consent.statuses([a.id, b.id], [photos], school_id=world.oak.id)
    assert found[(b.id, photos.id)].status is Status.NOT_ON_ROLL


def test_statuses_without_the_why_are_the_same_statuses(world):
    """`why=False` (the photo check): every pupil's status and conflict for every purpose
    as with the why, only without the guardians."""
    a, b = world.oak.pupils["A"], world.oak.pupils["B"]
    record(world, world.ada, "photos-website", "grant", pupil=a)
    record(world, world.ben, "photos-website", "withdraw", pupil=a)
    record(world, world.ada, "photos-website", "grant", pupil=b)
    record(world, world.dan, "class-photos", "object", pupil=b)
    ids = [p.id for p in world.oak.pupils.values()]
    chosen = [p for p in world.oak.purposes.values() if p.scope == Scope.PUPIL]
    now = utcnow()

    full = consent.statuses(ids, chosen, school_id=world.oak.id, now=now)
    lean = consent.statuses(ids, chosen, school_id=world.oak.id, now=now, why=False)

    def answers(found):
        return {key: (s.status, s.conflict, s.refusal) for key, s in found.items()}

    assert answers(lean) == answers(full) and len(full) == len(ids) * len(chosen)
    assert {s.status for s in full.values()} >= {Status.WITHDRAWN, Status.GRANTED}
    assert all(s.guardians for s in full.values())
    assert not any(s.guardians for s in lean.values())


def test_statuses_are_scoped_to_one_school(world):
    x = world.elm.pupils["X"]
    photos = world.oak.purposes["photos-website"]
    assert consent.statuses([x.id], [photos], school_id=world.oak.id) == {}
    assert consent.statuses([x.id], [photos], school_id=world.elm.id) == {}
    with pytest.raises(LookupError):
        consent.status_for(x, photos)


def test_an_objection_to_marketing_stands_until_the_person_lifts_it(world):
    marketing = world.oak.purposes["marketing-emails"]
    ada = world.ada

    def status():
        found = consent.person_statuses([ada.id], [marketing], school_id=world.oak.id)
        return found[(ada.id, marketing.id)].status

    assert status() is Status.NO_RESPONSE
    record(world, ada, "marketing-emails", "grant")
    assert status() is Status.GRANTED
    record(world, ada, "marketing-emails", "object")
    assert status() is Status.OBJECTED
    # Granting again does not undo the objection.
    record(world, ada, "marketing-emails", "grant")
    assert status() is Status.OBJECTED
    record(world, ada, "marketing-emails", "lift_objection")
    assert status() is Status.GRANTED


# --- the biometric rule (the Protection of Freedoms Act 2012) --------------------------------


def written(guardian: int, decision: str, seq: int, channel: str, **kw) -> Fact:
    found = fact(guardian, decision, seq, **kw)
    return Fact(**{**found.__dict__, "channel": channel, "actor_type": "staff"})


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ((), (Status.NO_RESPONSE, False)),
        ((fact(1, "grant", 1),), (Status.GRANTED, False)),  # on the web: in writing
        ((written(1, "grant", 1, "paper"),), (Status.GRANTED, False)),
        ((written(1, "grant", 1, "email"),), (Status.GRANTED, False)),
        # A yes by phone is not written consent (s. 27): it does not count.
        ((written(1, "grant", 1, "phone"),), (Status.NO_RESPONSE, False)),
        ((written(1, "grant", 1, "phone"), fact(2, "grant", 2)), (Status.GRANTED, False)),
        # Any parent's no stops it, however it was given (more protective than the Act).
        ((fact(1, "grant", 1), fact(2, "withdraw", 2)), (Status.WITHDRAWN, True)),
        ((fact(1, "grant", 1), written(2, "withdraw", 2, "phone")), (Status.WITHDRAWN, True)),
        ((fact(1, "withdraw", 1), fact(2, "grant", 2)), (Status.WITHDRAWN, True)),
    ],
    ids=[
        "nobody",
        "web-yes",
        "paper-yes",
        "email-yes",
        "phone-yes-only",
        "phone-yes-and-web-yes",
        "one-parent-says-no",
        "no-by-phone",
        "no-then-yes",
    ],
)
def test_biometric_needs_one_written_yes_and_no_parent_saying_no(facts, expected):
    assert evaluate(purpose(rule="biometric"), *facts) == expected


@pytest.mark.parametrize(
    "facts",
    [
        (),
        (fact(1, "grant", 1),),
        (fact(1, "grant", 1), fact(2, "grant", 2)),
        (fact(1, "withdraw", 1),),
    ],
    ids=["nobody", "one-yes", "both-yes", "a-no"],
)
def test_the_pupils_refusal_stops_biometric_recognition_whatever_the_parents_said(facts):
    p = purpose(rule="biometric")
    status, _ = consent.evaluate(p, on_roll=True, facts=list(facts), now=NOW, pupil_refused=True)
    assert status is Status.PUPIL_REFUSED
    assert not consent.EffectiveStatus(1, p.id, status, False, ()).permits
    # A pupil who left is "not on roll" first; only a biometric purpose reads a refusal.
    assert consent.evaluate(p, on_roll=False, facts=[], now=NOW, pupil_refused=True)[0] is (
        Status.NOT_ON_ROLL
    )
    other = consent.evaluate(purpose(), on_roll=True, facts=list(facts), now=NOW,
                             pupil_refused=True)  # fmt: skip
    assert other[0] is not Status.PUPIL_REFUSED


def test_a_biometric_yes_lapses_like_any_other():
    p = purpose(rule="biometric", renewal="days", days=30)
    given = fact(1, "grant", 1, at=NOW - timedelta(days=31))
    assert evaluate(p, given) == (Status.NEEDS_RENEWAL, False)
    assert evaluate(purpose(rule="biometric", version=2), fact(1, "grant", 1)) == (
        Status.NEEDS_RENEWAL,
        False,
    )


def biometric_purpose(world) -> Purpose:
    """Oak's fingerprint recognition, added from the template."""
    template = purposes.template("biometric-recognition")
    return purposes.create(world.oak.id, template.entry, staff=world.oak.staff, template=template)


def test_statuses_read_the_pupils_refusal_and_its_lifting(world):
    from portal import pupil_refusals

    a, b = world.oak.pupils["A"], world.oak.pupils["B"]
    fingerprints = biometric_purpose(world)
    photos = world.oak.purposes["photos-website"]
    decide(world.ada, fingerprints, "grant", pupil=a)
    decide(world.ada, fingerprints, "grant", pupil=b)
    decide(world.ada, photos, "grant", pupil=a)
    assert consent.status_for(a, fingerprints).status is Status.GRANTED

    pupil_refusals.record(world.oak.staff, a.id, fingerprints.id, "refuse", "in_person")
    found = consent.statuses([a.id, b.id], [fingerprints, photos], school_id=world.oak.id)
    refused = found[(a.id, fingerprints.id)]
    assert (refused.status, refused.permits) == (Status.PUPIL_REFUSED, False)
    assert refused.refusal is not None and refused.refusal.how == "in_person"
    assert refused.refusal.recorded_by_id == world.oak.staff.id
    assert found[(b.id, fingerprints.id)].status is Status.GRANTED  # only A refused
    assert found[(a.id, photos.id)].status is Status.GRANTED  # only biometric reads it

    pupil_refusals.record(world.oak.staff, a.id, fingerprints.id, "lift", "in_writing")
    lifted = consent.status_for(a, fingerprints)
    assert (lifted.status, lifted.refusal) == (Status.GRANTED, None)


def test_a_phone_yes_to_biometric_recognition_is_refused_by_the_ledger(world):
    from portal.ledger import LedgerError
    from tests.support.world import snapshot

    a = world.oak.pupils["A"]
    fingerprints = biometric_purpose(world)
    before = snapshot(world.oak.id)
    with pytest.raises(LedgerError, match="must be given in writing"):
        decide(world.ben, fingerprints, "grant", pupil=a, staff=world.oak.staff, channel="phone")
    assert snapshot(world.oak.id) == before
    # A no by phone is taken down (and stops it); a yes on paper or by email counts.
    decide(world.ben, fingerprints, "grant", pupil=a, staff=world.oak.staff, channel="email")
    assert consent.status_for(a, fingerprints).status is Status.GRANTED
    decide(world.ada, fingerprints, "withdraw", pupil=a, staff=world.oak.staff, channel="phone")
    assert consent.status_for(a, fingerprints).status is Status.WITHDRAWN
