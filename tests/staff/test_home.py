"""The staff home page and menu, by role."""

from __future__ import annotations


def test_each_role_sees_its_menu(office, admin, marketer):
    page = office.get("/staff")
    assert page.status_code == 200 and "Dashboard" in page.text
    assert 'aria-label="Staff menu"' in page.text
    page = admin.get("/staff")
    assert page.status_code == 200
    response = marketer.get("/staff")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/exports"
