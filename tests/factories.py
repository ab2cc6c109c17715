"""Keyword-only factories for test data, all through the domain modules."""

from __future__ import annotations

from portal import notices, schools
from portal.models import NoticeVersion, School


def make_school(*, slug: str = "oak-primary", name: str = "Oak Primary School",
                contact_email: str | None = "office@oak.example.org") -> School:  # fmt: skip
    return schools.create(slug, name=name, contact_email=contact_email)


def make_notice(school: School, *, title: str = "Privacy notice",
                source: str = "We hold your child's name.",
                source_format: str = "markdown") -> NoticeVersion:  # fmt: skip
    return notices.publish(
        school, title=title, source=source, source_format=source_format
    ).notice
