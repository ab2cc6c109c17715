"""A school's public pages (portal/school_pages.py): which schools, which notice version, and
NotFound for a school or a version that is not there."""

from __future__ import annotations

import pytest

from portal import school_pages
from portal.errors import NotFound
from tests.support.factories import make_notice, make_school


def test_the_directory_lists_every_school_by_name(app):
    make_school(slug="oak-primary", name="Oak Primary School")
    make_school(slug="ash-academy", name="Ash Academy")
    assert [s.slug for s in school_pages.directory()] == ["ash-academy", "oak-primary"]


def test_the_notice_is_the_current_version_unless_another_is_asked_for(app):
    school = make_school()
    make_notice(school, title="Privacy notice", source="First.")
    make_notice(school, title="Privacy notice", source="Second.")
    current = school_pages.notice("oak-primary")
    assert (current.school.id, current.notice.version, current.is_current) == (school.id, 2, True)
    assert [v.version for v in current.versions] == [2, 1]
    earlier = school_pages.notice("oak-primary", 1)
    assert (earlier.notice.version, earlier.is_current) == (1, False)
    assert school_pages.notice("oak-primary", 2).is_current


def test_before_any_notice_the_page_has_none(app):
    make_school()
    page = school_pages.notice("oak-primary")
    assert (page.notice, page.versions, page.is_current) == (None, [], True)


def test_an_unknown_school_or_version_is_not_found(app):
    oak = make_school()
    ash = make_school(slug="ash-academy", name="Ash Academy")
    make_notice(ash, title="Ash notice", source="One.")
    make_notice(ash, title="Ash notice", source="Two.")
    make_notice(oak, title="Oak notice", source="One.")
    with pytest.raises(NotFound):
        school_pages.notice("no-such-school")
    with pytest.raises(NotFound):
        school_pages.notice("oak-primary", 2)  # Ash has a version 2; Oak does not
    with pytest.raises(NotFound):
        school_pages.rights("no-such-school")
    assert school_pages.rights("ash-academy").id == ash.id
