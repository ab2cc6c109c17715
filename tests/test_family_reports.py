"""Reports from families (portal/family_reports.py), on the shared world.

Oak Primary: pupil A (Ada and Ben with parental responsibility, Gran without), pupil B (Ada
and Dan), pupil C (Eve); office@oak.example is its staff user, and each test adds an admin.
Elm Academy: pupil X (Ada and Fay).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal import deadlines, family_reports, holidays, todo
from portal.errors import NotFound
from portal.extensions import db
from portal.mail.render import render
from portal.models import FamilyReport, OutboxMessage, StaffAuditEntry, StaffUser
from tests.support.factories import make_staff
from tests.support.world import World

T0 = datetime(2026, 1, 31, 10, 0, tzinfo=UTC)  # a Saturday
MISSING = "Sam Test, class 2 Elm, is my son and is not on my list."


@pytest.fixture
def office(world: World) -> tuple[World, StaffUser]:
    admin = make_staff(world.oak.school, email="admin@oak.example", role="admin", name="Dana")
    make_staff(world.oak.school, email="marketing@oak.example", role="marketing", name="M")
    gone = make_staff(world.oak.school, email="old@oak.example", role="admin", name="Gone")
    gone.active = False  # a former admin: not emailed
    db.session.commit()
    return world, admin


def _count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(FamilyReport)) or 0


def test_a_report_reaches_the_office_as_a_task_and_an_email_to_each_admin(office):
    """Due one calendar month later on a working day; every active admin emailed in English,
    with a link and no word of what the family wrote; a thing to do for admins and staff."""
    world, _admin = office
    report = family_reports.make(
        world.ada.id, world.oak.id, kind="missing_child", details=f"  {MISSING}\n", now=T0
    )
    assert (report.kind, report.details, report.done_at) == ("missing_child", MISSING, None)
    # 31 January: 28 February 2026 is a Saturday, so Monday 2 March.
    assert report.due_on == date(2026, 3, 2)
    assert report.due_on == deadlines.due_date(date(2026, 1, 31), holidays=holidays.in_force())

    sent = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == family_reports.ADMIN_TEMPLATE)
    ).all()
    assert [m.to_address for m in sent] == ["admin@oak.example"]
    assert json.loads(sent[0].payload) == {"report_id": report.id}
    email = render(family_reports.ADMIN_TEMPLATE, json.loads(sent[0].payload), now=T0)
    assert not isinstance(email, str)
    assert email.subject == (
        "A family reports: a child is missing from their list (Oak Primary School)"
    )
    assert f"reference FR-{report.id}" in email.text and "by 2 March 2026" in email.text
    assert f"/staff/family-reports/{report.id}" in email.text
    assert "Sam" not in email.text + email.html and world.ada.email not in email.text

    for role in ("admin", "staff"):
        [item] = family_reports.things_to_do(world.oak.id, date(2026, 2, 2), role)
        assert (item.kind, item.opened_on, item.due_on, item.values) == (
            "report",
            date(2026, 1, 31),
            date(2026, 3, 2),
            {"report_id": report.id},
        )
        assert item.title == f"Read report FR-{report.id}: a child is missing from their list"
        assert item.detail == "ada Test"  # the name Oak holds for Ada
        assert isinstance(item, todo.Item)
    assert family_reports.things_to_do(world.oak.id, date(2026, 2, 2), "marketing") == []
    assert family_reports.things_to_do(world.elm.id, date(2026, 2, 2), "admin") == []


@pytest.mark.parametrize(
    ("kind", "details", "field"),
    [
        ("", MISSING, "kind"),
        ("rectification", MISSING, "kind"),
        ("missing_child", "   ", "details"),
        ("details_wrong", "x" * (family_reports.MAX_DETAILS + 1), "details"),
        ("details_wrong", "my name\x00is wrong", "details"),
        ("details_wrong", "my name\x1bis wrong", "details"),
    ],
    ids=["no-kind", "unknown-kind", "empty", "too-long", "nul", "control"],
)
def test_a_report_that_cannot_be_kept_is_refused_and_changes_nothing(office, kind, details, field):
    world, _ = office
    with pytest.raises(family_reports.ReportError) as refused:
        family_reports.make(world.ada.id, world.oak.id, kind=kind, details=details)
    assert refused.value.field == field
    assert _count() == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_only_a_school_the_family_belongs_to_hears_from_them(office):
    """Eve has no child at Elm: NotFound, and nothing written."""
    world, _ = office
    with pytest.raises(NotFound):
        family_reports.make(world.eve.id, world.elm.id, kind="details_wrong", details="x")
    assert _count() == 0
    # Gran, a contact without parental responsibility, may tell Oak her details are wrong.
    family_reports.make(world.gran.id, world.oak.id, kind="details_wrong", details="My name")
    assert _count() == 1


def test_a_person_may_send_five_reports_a_day_at_all_their_schools(office):
    world, _ = office
    for n in range(family_reports.LIMIT):
        school = world.elm if n == 0 else world.oak
        family_reports.make(world.ada.id, school.id, kind="details_wrong", details=f"{n}",
                            now=T0 + timedelta(hours=n))  # fmt: skip
    with pytest.raises(family_reports.TooManyReports) as refused:
        family_reports.make(world.ada.id, world.oak.id, kind="details_wrong", details="6",
                            now=T0 + timedelta(hours=23))  # fmt: skip
    assert str(refused.value) == (
        "You have sent 5 reports in the last day. Try again tomorrow, or contact the school."
    )
    assert _count() == 5
    # Another person is not held back by Ada's reports; Ada may send again a day after her
    # first.
    family_reports.make(world.ben.id, world.oak.id, kind="details_wrong", details="Ben",
                        now=T0 + timedelta(hours=23))  # fmt: skip
    family_reports.make(world.ada.id, world.oak.id, kind="details_wrong", details="7",
                        now=T0 + timedelta(days=1, seconds=1))  # fmt: skip
    assert _count() == 7


def test_marking_done_is_once_audit_logged_and_leaves_the_queue(office):
    """Staff (or an admin) mark it done with a note for the office; the first who, when and note
    stand; an audit entry; gone from things to do; the admins' email is not sent any more;
    the family sees that it is done, never the note."""
    world, admin = office
    report = family_reports.make(world.ada.id, world.oak.id, kind="details_wrong",
                                 details="My surname is Lovelace", now=T0)  # fmt: skip
    later = T0 + timedelta(days=2)
    done = family_reports.mark_done(world.oak.staff.id, report.id, " Fixed in the MIS ", now=later)
    assert done.changed and not done.report.is_open
    assert (done.report.done_at, done.report.done_by, done.report.done_note) == (
        later,
        "Sam Taylor",
        "Fixed in the MIS",
    )
    again = family_reports.mark_done(admin.id, report.id, "Me too", now=later + timedelta(hours=1))
    assert not again.changed and again.report.done_by == "Sam Taylor"
    [entry] = db.session.scalars(select(StaffAuditEntry)).all()
    assert (entry.action, entry.staff_user_id, entry.school_id) == (
        "family_report.done",
        world.oak.staff.id,
        world.oak.id,
    )
    assert json.loads(entry.detail) == {
        "report_id": report.id,
        "kind": "details_wrong",
        "note": "Fixed in the MIS",
    }
    assert family_reports.things_to_do(world.oak.id, date(2026, 2, 2), "admin") == []
    assert family_reports.open_reports(world.oak.id) == []
    assert [r.id for r in family_reports.done_reports(world.oak.id)] == [report.id]
    assert render(family_reports.ADMIN_TEMPLATE, {"report_id": report.id}) == (
        "not sent: the report was done before it could be sent"
    )
    [seen] = family_reports.of_guardian(world.ada.id)
    assert (seen.done_at, seen.kind_words) == (later, "My details are wrong")
    assert "Fixed" not in repr(seen)
    assert family_reports.of_guardian(world.ben.id) == []


def test_nobody_else_marks_a_report_done(office):
    """A marketing user, another school's staff, a note that cannot be kept: nothing changes."""
    world, _ = office
    report = family_reports.make(world.ada.id, world.oak.id, kind="details_wrong", details="x")
    marketing = db.session.scalars(
        select(StaffUser).where(StaffUser.email == "marketing@oak.example")
    ).one()
    with pytest.raises(NotFound):
        family_reports.mark_done(marketing.id, report.id)
    with pytest.raises(NotFound):
        family_reports.mark_done(world.elm.staff.id, report.id)
    with pytest.raises(family_reports.ReportError):
        family_reports.mark_done(world.oak.staff.id, report.id, "x" * 1001)
    with pytest.raises(NotFound):
        family_reports.get(world.elm.id, report.id)
    assert [r.id for r in family_reports.open_reports(world.oak.id)] == [report.id]
    assert db.session.scalars(select(StaffAuditEntry)).all() == []


def test_the_office_reads_who_sent_it_and_their_children_as_the_roster_has_them(office):
    world, _ = office
    report = family_reports.make(world.ada.id, world.oak.id, kind="missing_child", details="x")
    found = family_reports.get(world.oak.id, report.id)
    assert (found.contact_name, found.contact_email) == ("ada Test", "ada@example.org")
    assert [(c.name, c.class_name, c.parental_responsibility) for c in found.children] == [
        ("PupilA Test", "3 Oak", True),
        ("PupilB Test", "3 Oak", True),
    ]
    # Elm's office never sees Ada's report to Oak, nor her children at Oak.
    assert family_reports.open_reports(world.elm.id) == []
