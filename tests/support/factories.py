"""Keyword-only factories for test data, all through the domain modules."""

from __future__ import annotations

from portal import notices, schools
from portal.models import NoticeVersion, School, StaffUser


def make_school(*, slug: str = "oak-primary", name: str = "Oak Primary School",
                contact_email: str | None = "office@oak.example.org") -> School:  # fmt: skip
    return schools.create(slug, name=name, contact_email=contact_email)


def make_notice(school: School, *, title: str = "Privacy notice",
                source: str = "We hold your child's name.",
                source_format: str = "markdown", brief: str | None = None,
                ) -> NoticeVersion:  # fmt: skip
    return notices.publish(
        school, title=title, source=source, source_format=source_format, brief=brief
    ).notice


def make_staff(school: School, *, email: str = "office@oak.example.org", role: str = "staff",
               name: str | None = "Sam Taylor") -> StaffUser:  # fmt: skip
    return schools.add_staff(school, email, role=role, name=name).user


# --- Ledger and consent (tests/ledger) -------------------------------------------------------

PURPOSES_OF_EVERY_KIND = """
[[purposes]]
key = "photos-website"
title = "Photos on the school website"
description = "Photos of school life on the school website."
choice = "consent"
lawful_basis = "consent"
publishable = true

[[purposes]]
key = "local-paper"
title = "Photos in the local paper"
description = "Photos and first names in the local newspaper."
choice = "consent"
lawful_basis = "consent"
guardian_rule = "latest_wins"
renewal = "days"
renewal_days = 30
publishable = true

[[purposes]]
key = "trip-videos"
title = "Videos of school trips"
description = "Short videos of school trips, shown to families."
choice = "consent"
lawful_basis = "consent"
renewal = "academic_year"

[[purposes]]
key = "class-photos"
title = "Class photos on display in school"
description = "Class photos on the display boards inside the school."
choice = "objection"
lawful_basis = "public_task"

[[purposes]]
key = "school-census"
title = "The school census"
description = "The law requires us to send pupil data to the Department for Education."
choice = "none"
lawful_basis = "legal_obligation"

[[purposes]]
key = "marketing-emails"
title = "Fundraising emails"
description = "Emails about school fairs and fundraising appeals."
choice = "consent"
lawful_basis = "consent"
scope = "guardian"
marketing = true

[[purposes]]
key = "alumni-calls"
title = "Calls from the alumni association"
description = "The alumni association may phone you about its events."
choice = "objection"
lawful_basis = "legitimate_interests"
scope = "guardian"
"""


def make_purpose_set(school: School, *, text: str = PURPOSES_OF_EVERY_KIND) -> dict:
    """Load a purposes file (by default one purpose of every kind); the purposes by key."""
    from sqlalchemy import select

    from portal import purposes
    from portal.extensions import db
    from portal.models import Purpose

    purposes.load(school, text)
    found = db.session.scalars(select(Purpose).where(Purpose.school_id == school.id))
    return {p.key: p for p in found}


def make_families(school: School, *, families: dict, year_group: str = "3",
                  class_name: str = "3 Oak") -> dict:  # fmt: skip
    """Import a roster: `families` maps a pupil's MIS id to its contacts, each an
    (email, parental_responsibility) pair. Returns the pupils by MIS id."""
    import csv
    import io

    from sqlalchemy import select

    from portal import roster
    from portal.extensions import db
    from portal.models import Pupil

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(roster.REQUIRED_COLUMNS)
    for mis_id, contacts in families.items():
        for email, responsible in contacts:
            writer.writerow([mis_id, f"Pupil{mis_id}", "Test", year_group, class_name,
                             email.split("@")[0], "Test", email, "Parent",
                             "yes" if responsible else "no"])  # fmt: skip
    report = roster.import_roster(school, out.getvalue())
    assert not report.rejected, report.rejected
    found = db.session.scalars(
        select(Pupil).where(Pupil.school_id == school.id, Pupil.mis_id.in_(list(families)))
    )
    return {p.mis_id: p for p in found}


# --- Sign-in and sessions (tests/auth) -------------------------------------------------------


def make_child(school: School, *, guardian_email: str = "alex.morgan@example.org",
               forename: str = "Robin", surname: str = "Morgan", mis_id: str = "P1",
               class_name: str = "3 Oak", guardian_forename: str = "Alex",
               guardian_surname: str = "Morgan",
               parental_responsibility: bool = True):  # fmt: skip
    """One pupil with one guardian, imported as a one-row roster (other pupils of the school
    keep their links). Returns (guardian, pupil)."""
    import csv
    import io

    from sqlalchemy import select

    from portal import roster
    from portal.extensions import db
    from portal.models import Guardian, Pupil

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(roster.REQUIRED_COLUMNS)
    writer.writerow([mis_id, forename, surname, "3", class_name, guardian_forename,
                     guardian_surname, guardian_email, "Parent",
                     "yes" if parental_responsibility else "no"])  # fmt: skip
    report = roster.import_roster(school, out.getvalue())
    assert not report.rejected, report.rejected
    pupil = db.session.scalars(
        select(Pupil).where(Pupil.school_id == school.id, Pupil.mis_id == mis_id)
    ).one()
    guardian = db.session.scalars(
        select(Guardian).where(Guardian.email == guardian_email.lower())
    ).one()
    return guardian, pupil
