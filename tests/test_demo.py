from __future__ import annotations

from sqlalchemy import func, select

from portal import demo, notices, purposes, schools
from portal.extensions import db
from portal.models import Guardian, Pupil, Role, StaffUser


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_flask_demo_loads_a_school_with_its_notice_purposes_families_and_staff(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Demo school Riverside Primary School (riverside-primary): created; "
        "roster 12 rows: 12 created"
    )
    assert "http://localhost/schools/riverside-primary/privacy-notice" in result.stdout
    for email, _name in demo.STAFF.values():
        assert email in result.stdout

    school = schools.get_by_slug("riverside-primary")
    assert notices.current(school).version == 1
    assert len(purposes.for_school(school)) == 5
    assert db.session.scalar(select(func.count()).select_from(Pupil)) == 8
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Guardian)
            .where(Guardian.email == "farah.hussain@example.org")
        )
        == 1
    )
    staff = dict(db.session.execute(select(StaffUser.email, StaffUser.role)).all())
    assert staff == {email: role.value for role, (email, _name) in demo.STAFF.items()}
    assert set(staff.values()) == {role.value for role in Role}


def test_flask_demo_run_twice_changes_nothing(runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    after_first = row_counts()
    assert after_first["schools"] == 1 and after_first["notice_versions"] == 1

    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert row_counts() == after_first
    assert "(riverside-primary): already there" in second.stdout
    assert "roster 12 rows: 0 created, 0 updated, 12 unchanged, 0 rejected" in second.stdout


def test_demo_load_reports_nothing_new_the_second_time(app):
    first = demo.load()
    assert (first.school_created, first.notice_created) == (True, True)
    second = demo.load()
    assert (second.school_created, second.notice_created) == (False, False)
    assert second.school.id == first.school.id
    assert len(second.purposes.unchanged) == 5
    assert second.purposes.created == second.purposes.reworded == second.purposes.updated == []
    assert second.roster.created == second.roster.updated == 0
