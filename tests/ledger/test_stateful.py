"""A stateful test: random decisions, pupils leaving, wording changes and time passing.

Each example is a fresh school (a new slug) in the one database of the test. After every
step the invariants hold: the projection equals a replay of the ledger's events and this
test's own record of what was decided; `consent.statuses` and `consent.person_statuses`
equal a reference model written here, independently of portal/consent.py; the chain
verifies. Refused decisions must write nothing.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from portal import consent, ledger, purposes
from portal.extensions import db
from portal.models import Guardian, PurposeVersion
from tests.support.factories import (
    PURPOSES_OF_EVERY_KIND,
    make_families,
    make_notice,
    make_purpose_set,
    make_school,
    make_staff,
)
from tests.support.world import event_rows, head_row, projection_rows, snapshot

LONDON = ZoneInfo("Europe/London")
START = datetime(2025, 8, 20, 11, 0, tzinfo=UTC)

# Each purpose of PURPOSES_OF_EVERY_KIND as the reference model sees it:
# (kind of choice, per child?, rule, renewal, marketing).
KINDS = {
    "photos-website": ("consent", True, "any", None, False),
    "local-paper": ("consent", True, "latest", 30, False),
    "trip-videos": ("consent", True, "any", "academic_year", False),
    "class-photos": ("objection", True, None, None, False),
    "school-census": ("none", True, None, None, False),
    "marketing-emails": ("consent", False, None, None, True),
    "alumni-calls": ("objection", False, None, None, False),
}
KEYS = sorted(KINDS)
DECISIONS = ["grant", "withdraw", "object", "lift_objection"]
CHANNELS = ["web", "paper", "phone", "email"]
ACTORS = ["self", "another guardian", "staff", "staff of another school", "system"]
GUARDIANS = ["ada", "ben", "gran", "dan", "eve", "stranger"]  # stranger: of another school only
PUPILS = ["A", "B", "C", None, "elsewhere"]  # elsewhere: a pupil of another school
FAMILY = {"A": ["ada", "ben", "gran"], "B": ["ada", "dan"], "C": ["eve"]}
# What likely decisions are about: the per-child purposes with a choice come up three times as
# often as the others, and pupils with two responsible guardians (A, B) twice as often as C.
LIKELY_KEYS = [*KEYS, *(["photos-website", "local-paper", "trip-videos", "class-photos"] * 2)]
NOTES = [None, "", "  on paper  ", 'said "yes" \\ twice', "Zoë 😀", "tab\tinside"]


@dataclass(frozen=True)
class Decided:
    decision: str
    seq: int
    at: datetime
    version: int


def next_first_of_september(moment: datetime) -> datetime:
    local = moment.astimezone(LONDON)
    year = local.year if local.date() < date(local.year, 9, 1) else local.year + 1
    return datetime(year, 9, 1, tzinfo=LONDON).astimezone(UTC)


@dataclass
class Elsewhere:
    """Another school, made once per test: its staff user, pupil and guardian."""

    staff_id: int
    pupil_id: int
    guardian_id: int


class LedgerMachine(RuleBasedStateMachine):
    numbers = itertools.count(1)
    elsewhere: Elsewhere
    tally: Counter[str]

    def __init__(self) -> None:
        super().__init__()
        n = next(self.numbers)
        self.school = make_school(slug=f"school-{n}", name=f"School {n}", contact_email=None)
        make_notice(self.school)
        self.purposes_text = PURPOSES_OF_EVERY_KIND
        self.purposes = make_purpose_set(self.school)
        email = {name: f"{name}.{n}@example.org" for name in GUARDIANS if name != "stranger"}
        families = {
            "A": [(email["ada"], True), (email["ben"], True), (email["gran"], False)],
            "B": [(email["ada"], True), (email["dan"], True)],
            "C": [(email["eve"], True)],
        }
        pupils = make_families(self.school, families=families)
        self.staff = make_staff(self.school, email=f"office@school-{n}.example")
        by_email = {
            g.email: g.id
            for g in db.session.scalars(select(Guardian).where(Guardian.email.in_(email.values())))
        }
        self.guardian_ids = {name: by_email[address] for name, address in email.items()}
        self.guardian_ids["stranger"] = self.elsewhere.guardian_id
        self.pupil_ids = {mis_id: pupil.id for mis_id, pupil in pupils.items()}
        self.pupil_objects = pupils
        # Who has parental responsibility for whom, and who is a contact at this school.
        self.responsible = {
            (self.guardian_ids[address.split(".")[0]], pupils[mis_id].id)
            for mis_id, contacts in families.items()
            for address, pr in contacts
            if pr
        }
        self.contacts = {self.guardian_ids[name] for name in email}
        self.on_roll = {pupil_id: True for pupil_id in self.pupil_ids.values()}
        self.versions = {key: 1 for key in KEYS}
        self.decided: dict[tuple[int, int | None, str, str], Decided] = {}
        self.seq = 0
        self.now = START

    # --- the reference rules: who may record what ----------------------------------------

    def allowed(
        self,
        guardian: str,
        pupil: str | None,
        key: str,
        decision: str,
        actor: str,
        channel: str,
    ) -> bool:
        choice, per_child, _rule, _renewal, marketing = KINDS[key]
        answers, objections = {"grant", "withdraw"}, {"object", "lift_objection"}
        fits = {
            "consent": answers | objections if marketing else answers,
            "objection": objections,
            "none": set(),
        }[choice]
        if decision not in fits:
            return False
        guardian_id = self.guardian_ids[guardian]
        if per_child:
            if pupil not in ("A", "B", "C"):
                return False
            if (guardian_id, self.pupil_ids[pupil]) not in self.responsible:
                return False
        elif pupil is not None or guardian_id not in self.contacts:
            return False
        if actor == "self":
            return channel == "web"
        if actor == "staff":
            return channel != "web" and not (marketing and decision == "lift_objection")
        return actor == "system"

    # --- rules --------------------------------------------------------------------------------

    def attempt(
        self,
        guardian: str,
        pupil: str | None,
        key: str,
        decision: str,
        actor: str,
        channel: str,
        note: str | None,
    ) -> None:
        guardian_id = self.guardian_ids[guardian]
        pupil_id = (
            None
            if pupil is None
            else self.elsewhere.pupil_id
            if pupil == "elsewhere"
            else self.pupil_ids[pupil]
        )
        who = {
            "self": ledger.Actor.guardian(guardian_id),
            "another guardian": ledger.Actor.guardian(
                self.guardian_ids["eve" if guardian != "eve" else "ada"]
            ),
            "staff": ledger.Actor.staff(self.staff.id),
            "staff of another school": ledger.Actor.staff(self.elsewhere.staff_id),
            "system": ledger.Actor.system(),
        }[actor]
        expected = self.allowed(guardian, pupil, key, decision, actor, channel)
        before = snapshot(self.school.id)
        try:
            recorded = ledger.record(
                actor=who,
                guardian=guardian_id,
                pupil=pupil_id,
                purpose=self.purposes[key],
                decision=decision,
                channel=channel,
                note=note,
                now=self.now,
            )
        except ledger.LedgerError as exc:
            assert not expected, f"refused: {exc}"
            self.tally["refused"] += 1
            assert snapshot(self.school.id) == before, "a refused decision wrote something"
            return
        assert expected, "the ledger accepted a decision it should refuse"
        self.tally["recorded"] += 1
        self.seq += 1
        assert recorded.seq == self.seq
        axis = "answer" if decision in ("grant", "withdraw") else "objection"
        self.decided[(guardian_id, pupil_id, key, axis)] = Decided(
            decision, recorded.seq, self.now, self.versions[key]
        )

    @initialize(data=st.data())
    def families_answer_the_first_form(self, data: st.DataObject) -> None:
        """Each guardian with responsibility answers some questions in one go (`record_many`),
        so that every history starts with decisions in force."""
        for guardian in ("ada", "ben", "dan", "eve"):
            guardian_id = self.guardian_ids[guardian]
            requests = []
            for mis_id, names in FAMILY.items():
                if guardian not in names:
                    continue
                for key in ("photos-website", "local-paper", "trip-videos", "class-photos"):
                    options = (
                        [None, "object"]
                        if key == "class-photos"
                        else [None, "grant", "grant", "withdraw"]
                    )
                    decision = data.draw(st.sampled_from(options))
                    if decision is not None:
                        requests.append(
                            ledger.DecisionRequest(
                                guardian_id,
                                self.purposes[key].id,
                                decision,
                                pupil_id=self.pupil_ids[mis_id],
                            )
                        )
            # And the choices for the person: marketing (an answer, perhaps an objection too).
            for key, options in (
                ("marketing-emails", [None, "grant", "grant", "withdraw"]),
                ("marketing-emails", [None, None, "object"]),
                ("alumni-calls", [None, "object"]),
            ):
                decision = data.draw(st.sampled_from(options))
                if decision is not None:
                    requests.append(
                        ledger.DecisionRequest(guardian_id, self.purposes[key].id, decision)
                    )
            if not requests:
                continue
            events = ledger.record_many(
                requests, actor=ledger.Actor.guardian(guardian_id), channel="web", now=self.now
            )
            keys = {p.id: k for k, p in self.purposes.items()}
            for event in events:
                self.seq += 1
                assert event.seq == self.seq
                key = keys[event.purpose_id]
                axis = "objection" if event.decision == "object" else "answer"
                self.decided[(guardian_id, event.pupil_id, key, axis)] = Decided(
                    event.decision, event.seq, self.now, self.versions[key]
                )
            self.tally["recorded"] += len(events)

    def likely(
        self, data: st.DataObject, key: str, actor: str, channel: str, note: str | None
    ) -> None:
        """Mostly a decision that is allowed: a guardian of the pupil, a decision that fits."""
        choice, per_child, _, _, marketing = KINDS[key]
        pupil = data.draw(st.sampled_from(["A", "B", "A", "B", "C"])) if per_child else None
        guardian = data.draw(st.sampled_from(FAMILY[pupil] if pupil else GUARDIANS[:5]))
        decisions = {
            "consent": ["grant", "withdraw"],
            "objection": ["object", "lift_objection"],
            "none": ["grant"],
        }[choice]
        decision = data.draw(st.sampled_from(DECISIONS if marketing else decisions))
        self.attempt(guardian, pupil, key, decision, actor, channel, note)

    @rule(data=st.data(), key=st.sampled_from(LIKELY_KEYS), note=st.sampled_from(NOTES))
    def a_guardian_decides_on_the_web(
        self, data: st.DataObject, key: str, note: str | None
    ) -> None:
        self.likely(data, key, "self", "web", note)

    @rule(
        data=st.data(),
        key=st.sampled_from(LIKELY_KEYS),
        channel=st.sampled_from(["paper", "phone", "email"]),
        note=st.sampled_from(NOTES),
    )
    def the_office_records_a_form(
        self, data: st.DataObject, key: str, channel: str, note: str | None
    ) -> None:
        self.likely(data, key, "staff", channel, note)

    @rule(
        guardian=st.sampled_from(GUARDIANS),
        pupil=st.sampled_from(PUPILS),
        key=st.sampled_from(KEYS),
        decision=st.sampled_from(DECISIONS),
        actor=st.sampled_from(ACTORS),
        channel=st.sampled_from(CHANNELS),
        note=st.sampled_from(NOTES),
    )
    def any_decision(
        self,
        guardian: str,
        pupil: str | None,
        key: str,
        decision: str,
        actor: str,
        channel: str,
        note: str | None,
    ) -> None:
        """Anything at all: refused unless the reference rules allow it."""
        self.attempt(guardian, pupil, key, decision, actor, channel, note)

    @rule(data=st.data(), upheld=st.booleans())
    def the_school_answers_an_objection(self, data: st.DataObject, upheld: bool) -> None:
        """An admin records the outcome of an objection that stands (reviewed purposes only,
        never direct marketing); answering one that no longer stands is refused."""
        standing = sorted(
            (fact.seq, subject)
            for subject, fact in self.decided.items()
            if subject[3] == "objection"
            and fact.decision == "object"
            and KINDS[subject[2]][0] == "objection"
            and not KINDS[subject[2]][4]
        )
        if not standing:
            return
        seq, (guardian_id, pupil_id, key, _axis) = data.draw(st.sampled_from(standing))
        answer_older = data.draw(st.booleans())
        before = snapshot(self.school.id)
        if answer_older and seq > 1:
            with pytest.raises(ledger.LedgerError):
                ledger.record(actor=ledger.Actor.staff(self.staff.id), guardian=guardian_id,
                              pupil=pupil_id, purpose=self.purposes[key], decision="upheld",
                              channel="web", answers_seq=seq - 1, now=self.now)  # fmt: skip
            assert snapshot(self.school.id) == before
            self.tally["refused"] += 1
            return
        decision = "upheld" if upheld else "not_upheld"
        recorded = ledger.record(actor=ledger.Actor.staff(self.staff.id), guardian=guardian_id,
                                 pupil=pupil_id, purpose=self.purposes[key], decision=decision,
                                 channel="web", note="The school's reasons", answers_seq=seq,
                                 now=self.now)  # fmt: skip
        self.tally["recorded"] += 1
        self.tally["outcomes"] += 1
        self.seq += 1
        assert recorded.seq == self.seq and recorded.answers_seq == seq
        self.decided[(guardian_id, pupil_id, key, "objection")] = Decided(
            decision, recorded.seq, self.now, self.versions[key]
        )

    @rule(pupil=st.sampled_from(["A", "B", "C"]))
    def a_pupil_leaves_or_comes_back(self, pupil: str) -> None:
        record = self.pupil_objects[pupil]
        if record.on_roll:
            record.on_roll, record.left_on = False, self.now.astimezone(LONDON).date()
        else:  # as a roster import that lists the pupil again does
            record.on_roll, record.left_on = True, None
        db.session.commit()
        self.on_roll[record.id] = record.on_roll

    @rule(key=st.sampled_from(KEYS), through_the_file=st.booleans())
    def the_wording_changes(self, key: str, through_the_file: bool) -> None:
        purpose = self.purposes[key]
        new = f"{purpose.description} (version {purpose.version + 1})"
        # The file keeps up with every change, so that loading it rewords only this purpose.
        self.purposes_text = self.purposes_text.replace(
            f'description = "{purpose.description}"', f'description = "{new}"'
        )
        if through_the_file:
            report = purposes.load(self.school, self.purposes_text)
            assert report.reworded == [key]
        else:
            purpose.version += 1
            purpose.description = new
            db.session.add(
                PurposeVersion(
                    school_id=self.school.id,
                    purpose_id=purpose.id,
                    version=purpose.version,
                    title=purpose.title,
                    description=new,
                )
            )
            db.session.commit()
        self.versions[key] += 1
        assert purpose.version == self.versions[key]

    @rule(
        step=st.sampled_from(
            [
                "a day",
                "30 days",
                "31 days",
                "a year",
                "to 1 September",
                "to a lapse",
                "just before a lapse",
            ]
        ),
        data=st.data(),
    )
    def time_passes(self, step: str, data: st.DataObject) -> None:
        if step == "a day":
            self.now += timedelta(days=1)
        elif step == "30 days":  # a 30-day grant given now lapses exactly then
            self.now += timedelta(days=30)
        elif step == "31 days":
            self.now += timedelta(days=31)
        elif step == "a year":
            self.now += timedelta(days=365)
        elif step == "to 1 September":
            self.now = next_first_of_september(self.now)
        else:
            # Exactly to (or just before) the moment a grant in force lapses: the boundaries
            # are where renewal rules go wrong.
            lapses = [
                moment
                for (_, _, key, _), fact in self.decided.items()
                if fact.decision == "grant"
                and (moment := self.lapses_at(key, fact)) is not None
                and moment > self.now
            ]
            if lapses:
                moment = data.draw(st.sampled_from(sorted(set(lapses))))
                if step == "just before a lapse":
                    moment -= timedelta(microseconds=1)
                self.now = max(self.now, moment)

    # --- the reference model of effective status ----------------------------------------------

    def lapses_at(self, key: str, fact: Decided) -> datetime | None:
        renewal = KINDS[key][3]
        if renewal == "academic_year":
            return next_first_of_september(fact.at)
        if isinstance(renewal, int):
            return fact.at + timedelta(days=renewal)
        return None

    def current(self, key: str, fact: Decided) -> bool:
        renewal = KINDS[key][3]
        if fact.version != self.versions[key]:
            return False
        if renewal == "academic_year":
            # Dates in London: a grant counts until the 1 September after it was given.
            lapses = next_first_of_september(fact.at)
            return self.now.astimezone(LONDON).date() < lapses.astimezone(LONDON).date()
        if isinstance(renewal, int):
            return self.now - fact.at < timedelta(days=renewal)
        return True

    def expected_pupil_status(self, pupil_id: int, key: str) -> tuple[str, bool]:
        choice, _, rule_, _, _ = KINDS[key]
        axis = "objection" if choice == "objection" else "answer"
        facts = [
            self.decided[k]
            for k in self.decided
            if k[1] == pupil_id
            and k[2] == key
            and k[3] == axis
            and (k[0], pupil_id) in self.responsible
        ]
        conflict = len({f.decision for f in facts}) > 1
        if not self.on_roll[pupil_id]:
            return "not_on_roll", conflict
        if choice == "none":
            return "information", False
        if choice == "objection":
            # Upheld stops it; one not yet answered stops it while under review.
            if any(f.decision == "upheld" for f in facts):
                return "objected", conflict
            objected = any(f.decision == "object" for f in facts)
            return ("under_review" if objected else "allowed"), conflict
        if not facts:
            return "no_response", False
        if rule_ == "latest":
            latest = max(facts, key=lambda f: f.seq)
            if latest.decision == "withdraw":
                return "withdrawn", conflict
            return ("granted" if self.current(key, latest) else "needs_renewal"), conflict
        if any(f.decision == "withdraw" for f in facts):
            return "withdrawn", conflict
        grants = [f for f in facts if f.decision == "grant"]
        if any(self.current(key, f) for f in grants):
            return "granted", conflict
        return ("needs_renewal" if grants else "no_response"), conflict

    def expected_person_status(self, guardian_id: int, key: str) -> str:
        choice, _, _, _, marketing = KINDS[key]
        answer = self.decided.get((guardian_id, None, key, "answer"))
        objection = self.decided.get((guardian_id, None, key, "objection"))
        objected = objection is not None and objection.decision == "object"
        if choice == "objection":
            # Not direct marketing (whose objection is a consent purpose's): reviewed.
            if objection is not None and objection.decision == "upheld":
                return "objected"
            return "under_review" if objected else "allowed"
        if marketing and objected:
            return "objected"
        if answer is None:
            return "no_response"
        if answer.decision == "withdraw":
            return "withdrawn"
        return "granted" if self.current(key, answer) else "needs_renewal"

    # --- invariants ---------------------------------------------------------------------------

    @invariant()
    def the_projection_is_a_replay_of_the_ledger(self) -> None:
        replay: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for row in event_rows(self.school.id):
            axis = "answer" if row.decision in ("grant", "withdraw") else "objection"
            replay[(row.guardian_id, row.pupil_id, row.purpose_id, axis)] = (
                row.decision,
                row.purpose_version,
                row.notice_version,
                row.channel,
                row.actor_type,
                row.seq,
            )
        projected = {(r[0], r[1], r[2], r[3]): r[4:] for r in projection_rows(self.school.id)}
        assert projected == replay
        mine = {
            (g, p, self.purposes[key].id, axis): (d.decision, d.version, d.seq)
            for (g, p, key, axis), d in self.decided.items()
        }
        assert {k: (v[0], v[1], v[5]) for k, v in projected.items()} == mine

    @invariant()
    def statuses_follow_the_rules(self) -> None:
        per_child = [self.purposes[k] for k in KEYS if KINDS[k][1]]
        found = consent.statuses(
            self.pupil_ids.values(), per_child, school_id=self.school.id, now=self.now
        )
        expected = {
            (pupil_id, purpose.id): self.expected_pupil_status(pupil_id, purpose.key)
            for pupil_id in self.pupil_ids.values()
            for purpose in per_child
        }
        assert {k: (v.status.value, v.conflict) for k, v in found.items()} == expected
        for (pupil_id, _), status in found.items():
            assert {v.guardian_id for v in status.guardians} == {
                g for g, p in self.responsible if p == pupil_id
            }
        per_person = [self.purposes[k] for k in KEYS if not KINDS[k][1]]
        guardians = sorted(self.contacts)
        people = consent.person_statuses(
            guardians, per_person, school_id=self.school.id, now=self.now
        )
        assert {k: v.status.value for k, v in people.items()} == {
            (g, p.id): self.expected_person_status(g, p.key) for g in guardians for p in per_person
        }

    @invariant()
    def the_chain_verifies(self) -> None:
        assert head_row(self.school.id)[0] == self.seq
        result = ledger.verify(self.school)
        assert result.ok, result.schools


def test_random_histories_keep_the_ledger_projection_and_statuses_consistent(app):
    other = make_school(slug="elsewhere", name="Elsewhere School", contact_email=None)
    make_notice(other)
    make_purpose_set(other)
    pupil = make_families(other, families={"Z": [("stranger@example.org", True)]})["Z"]
    staff = make_staff(other, email="office@elsewhere.example")
    stranger = db.session.scalars(
        select(Guardian).where(Guardian.email == "stranger@example.org")
    ).one()
    LedgerMachine.elsewhere = Elsewhere(staff.id, pupil.id, stranger.id)
    LedgerMachine.tally = Counter()

    run_state_machine_as_test(
        LedgerMachine,
        # No shrinking: every example costs a new school, and shrinking one failure can take
        # minutes. A failing history has at most 15 steps and is printed as found.
        settings=settings(
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            max_examples=30,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    # The histories did exercise both sides (hundreds of steps; these bounds are far below).
    tally = LedgerMachine.tally
    assert tally["recorded"] >= 20 and tally["refused"] >= 20, tally
    assert tally["outcomes"] >= 1, tally  # the school answered some objections
