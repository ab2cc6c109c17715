from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal import emails, schools
from portal.errors import NotFound, PortalError
from portal.extensions import db
from portal.models import GENESIS_HASH, LedgerHead, Role, School, StaffUser
from tests.support.factories import make_school, make_staff


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_creating_a_school_starts_its_empty_ledger_chain(app):
    school = schools.create(
        "oak-primary",
        name="  Oak Primary School ",
        contact_email="Office@Oak.Example.org",
        dpo_name=" Dana Okafor ",
        dpo_email="DPO@oak.example.org",
    )
    assert (school.slug, school.name) == ("oak-primary", "Oak Primary School")
    assert (school.contact_email, school.dpo_email) == ("office@oak.example.org",
                                                       "dpo@oak.example.org")  # fmt: skip
    assert school.dpo_name == "Dana Okafor"
    head = db.session.get(LedgerHead, school.id)
    assert (head.seq, head.hash) == (0, GENESIS_HASH)
    assert schools.get_by_slug("oak-primary").id == school.id


def test_optional_contacts_may_be_left_out(app):
    school = schools.create("ash-1", name="Ash", contact_email=None, dpo_name="  ")
    assert (school.contact_email, school.dpo_name, school.dpo_email) == (None, None, None)


def test_a_slug_is_lowered_and_trimmed(app):
    assert schools.create(" Oak-Primary ", name="Oak").slug == "oak-primary"


@pytest.mark.parametrize(
    "slug",
    ["", " ", "oak primary", "oak_primary", "oak--primary", "-oak", "oak-", "oak/primary",
     "ōak", "a" * 65],
)  # fmt: skip
def test_an_invalid_slug_is_refused(app, slug):
    with pytest.raises(PortalError, match="is not a valid slug"):
        schools.create(slug, name="Oak")
    assert count(School) == 0 and count(LedgerHead) == 0


def test_the_longest_slug_is_accepted(app):
    assert schools.create("a" * 64, name="Oak").slug == "a" * 64


def test_a_duplicate_slug_is_refused(app):
    make_school(slug="oak-primary")
    with pytest.raises(PortalError, match="a school with the slug 'oak-primary' already exists"):
        schools.create("OAK-PRIMARY", name="Another Oak")
    assert count(School) == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_school_needs_a_name_that_fits(app, name):
    with pytest.raises(PortalError, match="name"):
        schools.create("oak", name=name)
    assert count(School) == 0


def test_an_invalid_contact_email_is_refused(app):
    with pytest.raises(emails.InvalidEmail):
        schools.create("oak", name="Oak", contact_email="office at oak")
    assert count(School) == 0


def test_an_unknown_slug_is_not_found(app):
    with pytest.raises(NotFound, match="no school with the slug 'nowhere'"):
        schools.get_by_slug("nowhere")


def test_all_schools_are_listed_by_name(app):
    make_school(slug="oak", name="Oak Primary")
    make_school(slug="ash", name="Ash Academy")
    assert [s.slug for s in schools.all_schools()] == ["ash", "oak"]


def test_adding_staff_stores_the_email_in_lower_case(app):
    school = make_school()
    result = schools.add_staff(school, "  Sam.Taylor@Oak.Example.ORG ", role="staff",
                               name=" Sam Taylor ")  # fmt: skip
    assert result.created is True
    user = result.user
    assert (user.email, user.name, user.role, user.active) == (
        "sam.taylor@oak.example.org", "Sam Taylor", "staff", True,
    )  # fmt: skip
    assert user.school_id == school.id


def test_adding_an_existing_staff_user_updates_the_role(app):
    school = make_school()
    first = make_staff(school, email="sam@oak.example.org", role="staff", name="Sam Taylor")
    again = schools.add_staff(school, "SAM@oak.example.org", role=Role.ADMIN.value)
    assert again.created is False
    assert again.user.id == first.id
    assert again.user.role == "admin"
    assert again.user.name == "Sam Taylor"  # no name given: the name is kept
    assert count(StaffUser) == 1

    renamed = schools.add_staff(school, "sam@oak.example.org", role="admin", name="Samantha")
    assert (renamed.created, renamed.user.name) == (False, "Samantha")


def test_adding_a_deactivated_staff_user_makes_them_active_again(app):
    school = make_school()
    user = make_staff(school, email="sam@oak.example.org", role="staff")
    user.active = False
    db.session.commit()
    assert schools.add_staff(school, "sam@oak.example.org", role="staff").user.active is True


def test_the_same_person_at_two_schools_is_two_staff_users(app):
    oak = make_school(slug="oak")
    ash = make_school(slug="ash", name="Ash Academy")
    make_staff(oak, email="sam@trust.example.org", role="admin")
    make_staff(ash, email="sam@trust.example.org", role="marketing")
    roles = dict(db.session.execute(select(StaffUser.school_id, StaffUser.role)).all())
    assert roles == {oak.id: "admin", ash.id: "marketing"}


@pytest.mark.parametrize("role", ["owner", "Admin", "", "staff "])
def test_an_unknown_role_is_refused(app, role):
    school = make_school()
    with pytest.raises(PortalError, match="unknown role"):
        schools.add_staff(school, "sam@oak.example.org", role=role)
    assert count(StaffUser) == 0


def test_an_invalid_staff_email_is_refused(app):
    school = make_school()
    with pytest.raises(emails.InvalidEmail):
        schools.add_staff(school, "sam", role="staff")
    assert count(StaffUser) == 0


@pytest.mark.parametrize(
    ("name", "dpo_name"), [("Oak\nPrimary", None), ("Oak Primary", "Pat\r\nBcc: x@example.org")]
)
def test_a_school_name_is_one_line(app, name, dpo_name):
    with pytest.raises(PortalError, match="must be one line"):
        schools.create("oak-primary", name=name, dpo_name=dpo_name)


def test_a_staff_name_from_the_command_line_is_one_line(app):
    school = make_school()
    with pytest.raises(PortalError, match="must be one line"):
        schools.add_staff(school, "sam@oak.example", role="staff", name="Sam\nTaylor")
