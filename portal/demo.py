"""Idempotent demo data: one school, its notice and purposes, the sample families, and one
staff user per role. Running it again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import notices, purposes, roster, schools
from .errors import NotFound
from .models import Role, School

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SLUG = "riverside-primary"
STAFF = {
    Role.ADMIN: ("dpo@riverside-primary.example.org", "Dana Okafor"),
    Role.STAFF: ("office@riverside-primary.example.org", "Sam Taylor"),
    Role.MARKETING: ("marketing@riverside-primary.example.org", "Morgan Lee"),
}


@dataclass(frozen=True)
class DemoResult:
    school: School
    school_created: bool
    notice_created: bool
    roster: roster.ImportReport
    purposes: purposes.LoadReport


def load() -> DemoResult:
    try:
        school = schools.get_by_slug(SLUG)
        created = False
    except NotFound:
        school = schools.create(
            SLUG,
            name="Riverside Primary School",
            contact_email="office@riverside-primary.example.org",
            dpo_name="Dana Okafor",
            dpo_email="dpo@riverside-primary.example.org",
        )
        created = True
    notice = notices.publish(
        school,
        title="Privacy notice for pupils and their families",
        source=(EXAMPLES / "notice.md").read_text(encoding="utf-8"),
        source_format="markdown",
    )
    loaded = purposes.load(school, (EXAMPLES / "purposes.toml").read_text(encoding="utf-8"))
    imported = roster.import_roster(
        school, (EXAMPLES / "roster-example.csv").read_text(encoding="utf-8")
    )
    for role, (email, name) in STAFF.items():
        schools.add_staff(school, email, role=role.value, name=name)
    return DemoResult(school, created, notice.created, imported, loaded)
