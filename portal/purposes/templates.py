"""Purpose templates: the purposes most schools have, each with the kind of choice and the
lawful basis that fit it and an honest default wording, so that an admin adding one starts
from something sound instead of choosing between "vital interests" and "contract".

A template is a table of the purposes file (`entry`, checked by `purposes.check` like any
other: tests/test_purposes.py checks every template). What it fixes (`FIXED`: the kind of
choice, the lawful basis, who decides, the rule between guardians, the photo check and
marketing) is taken from the template when the admin saves, whatever a form posts; the
wording, the renewal and what happens when a pupil leaves are the admin's to change. The
wording is the school's once saved: in English, translated by the school like any wording
(docs/translations-by-schools.md). Why each template chose what it did, with the law behind
it, is in `why` (shown to the admin) and docs/legal.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import NotFound

# What a template decides and the form does not offer to change.
FIXED = ("choice", "lawful_basis", "scope", "guardian_rule", "publishable", "marketing")


@dataclass(frozen=True)
class PurposeTemplate:
    key: str  # the template's name in addresses, and the key it suggests for the purpose
    name: str  # what the chooser calls it
    why: str  # why this kind of choice and lawful basis, for the admin
    entry: Mapping[str, Any]  # the purpose, as a table of the purposes file

    def fixed(self) -> dict[str, Any]:
        """What the template decides, as fields of the purposes file."""
        return {name: self.entry[name] if name in self.entry else DEFAULTS[name] for name in FIXED}

    def form_data(self) -> dict[str, Any]:
        """The template as a purpose form's starting values."""
        return {**DEFAULTS, **self.entry, "template": self.key}


DEFAULTS: dict[str, Any] = {
    "scope": "pupil",
    "guardian_rule": "any_objection_blocks",
    "renewal": "never",
    "publishable": False,
    "marketing": False,
    "on_leaving": "keep",
}


TEMPLATES: tuple[PurposeTemplate, ...] = (
    PurposeTemplate(
        key="photos-website",
        name="Photos on the school website",
        why=(
            "Consent: putting a child's photo on the open internet is optional, and the school "
            "can leave any child out, so families can be given a real choice. A yes runs out "
            "each school year, so families look at it again as their child grows."
        ),
        entry={
            "key": "photos-website",
            "title": "Photos on the school website",
            "description": (
                "We would like to put photos and short videos of your child taking part in "
                "school life on the school website. We never put your child's full name beside "
                "a photo. Photos stay on the website for up to two years. If you say no, or "
                "change your mind, we take your child's photos down within 5 school days."
            ),
            "choice": "consent",
            "lawful_basis": "consent",
            "renewal": "academic_year",
            "publishable": True,
            "takedown_days": 5,
            "on_leaving": "remove",
            "leaving_days": 5,
            "shared_with": "Anyone who visits the school website.",
            "retention": (
                "Up to two years on the website; taken down within 5 school days when you say "
                "no or your child leaves."
            ),
        },
    ),
    PurposeTemplate(
        key="photos-social-media",
        name="Photos on the school's social media",
        why=(
            "Consent: social media companies and other people can copy and share what is "
            "posted, beyond the school's control, so the school asks first. A yes runs out "
            "each school year."
        ),
        entry={
            "key": "photos-social-media",
            "title": "Photos on the school's social media",
            "description": (
                "We would like to post photos and short videos of your child taking part in "
                "school life on the school's own social media accounts. We never give your "
                "child's full name. Anyone can see these posts, the social media companies "
                "keep their own copies, and other people can share them: when we delete a "
                "post, copies that others have made may remain."
            ),
            "choice": "consent",
            "lawful_basis": "consent",
            "renewal": "academic_year",
            "publishable": True,
            "takedown_days": 5,
            "on_leaving": "review",
            "leaving_days": 10,
            "shared_with": (
                "Anyone who sees the school's social media accounts, and the companies that "
                "run them."
            ),
            "retention": (
                "Until we delete the post; we delete your child's posts within 5 school days "
                "when you say no."
            ),
        },
    ),
    PurposeTemplate(
        key="photos-press",
        name="Photos and names in local newspapers",
        why=(
            "Consent: a newspaper publishes a child's photo and name in print and online, "
            "where the school cannot take it back, so the school asks first. A yes runs out "
            "each school year."
        ),
        entry={
            "key": "photos-press",
            "title": "Photos and names in local newspapers",
            "description": (
                "Local newspapers sometimes photograph school events, such as sports days, "
                "concerts and prize-givings, and print children's first names with the photos, "
                "in the paper and on their websites. Once a photo is printed, the school cannot "
                "take it back."
            ),
            "choice": "consent",
            "lawful_basis": "consent",
            "renewal": "academic_year",
            "publishable": True,
            "shared_with": "Local newspapers, their readers and their websites.",
            "retention": "Newspapers keep their own archives; a printed photo cannot be removed.",
        },
    ),
    PurposeTemplate(
        key="class-photographs",
        name="Class and individual photographs by a professional photographer",
        why=(
            "Goes ahead unless a parent objects, on the school's public task: the ICO expects "
            "publicly funded schools to look at public task for photos taken as part of "
            "school life, and families keep the right to object, which the school reviews. "
            "The photographer works for the school and may use the photos for nothing else. "
            "An independent school would choose legitimate interests instead: use the full "
            "form."
        ),
        entry={
            "key": "class-photographs",
            "title": "Class and individual photographs",
            "description": (
                "Once a year a professional photographer, working for the school, takes class "
                "and individual photographs of the children. You can buy copies, but you do not "
                "have to. The photographer may use the photos only to make prints for the "
                "school and for families. You can object, and the school will not photograph "
                "your child while it looks at your objection."
            ),
            "choice": "objection",
            "lawful_basis": "public_task",
            "publishable": True,
            "shared_with": (
                "The school's photographer, under a contract that lets them use the photos for "
                "nothing else."
            ),
            "retention": (
                "The school keeps class photographs in its archive; the photographer deletes "
                "them after the prints are made."
            ),
        },
    ),
    PurposeTemplate(
        key="cctv",
        name="CCTV on the school site",
        why=(
            "Information only, on the school's public task: the cameras keep children and "
            "staff safe and cannot be switched off for one child, so a choice would not be "
            "honest. Families are told, and may still object by writing to the school, which "
            "must consider it (the wording says so). An independent school would choose "
            "legitimate interests instead: use the full form."
        ),
        entry={
            "key": "cctv",
            "title": "CCTV on the school site",
            "description": (
                "The school uses CCTV cameras at its entrances, in its car park and in some "
                "corridors to keep pupils, staff and visitors safe and to protect the "
                "buildings. The cameras record anyone in view, including children. Recordings "
                "are kept for 30 days and then recorded over, unless they are needed to look "
                "into an incident. Only named senior staff can watch them. You can object by "
                "writing to the school's data protection officer: the school will consider "
                "your objection, but it cannot switch the cameras off for one child."
            ),
            "choice": "none",
            "lawful_basis": "public_task",
            "shared_with": (
                "Named senior staff; the police, when a recording is needed to look into a crime."
            ),
            "retention": "30 days, unless a recording is needed to look into an incident.",
        },
    ),
    PurposeTemplate(
        key="marketing-emails",
        name="News, events and fundraising emails (marketing)",
        why=(
            "Consent, which each parent or carer gives for themselves: emails that promote "
            "events or ask for money are direct marketing, which needs the person's own "
            "consent, and anyone can object to direct marketing at any time, which the "
            "portal treats as absolute."
        ),
        entry={
            "key": "marketing-emails",
            "title": "News, events and fundraising emails",
            "description": (
                "Emails about school fairs, fundraising appeals and events of the Parent "
                "Teacher Association. You can say no and still get every message about your "
                "child's education and welfare."
            ),
            "choice": "consent",
            "lawful_basis": "consent",
            "scope": "guardian",
            "marketing": True,
            "shared_with": "No one: the school sends these emails itself.",
            "retention": "Until you withdraw your consent or your last child leaves the school.",
        },
    ),
    PurposeTemplate(
        key="biometric-recognition",
        name="Biometric recognition for school meals or the library (fingerprint)",
        why=(
            "Consent under the biometric rule: the Protection of Freedoms Act 2012 asks for "
            "one parent's consent in writing, stops it when any parent says no, and lets the "
            "pupil refuse whatever the parents said (staff record a refusal on the pupil's "
            "record). A child who does not take part must be offered another way. Biometric "
            "data is special category data: the school also needs a data protection impact "
            "assessment before it starts."
        ),
        entry={
            "key": "biometric-recognition",
            "title": "Fingerprint recognition for school meals and the library",
            "description": (
                "The school's catering and library systems can recognise your child from their "
                "finger, so they do not need cash or a card. The system keeps measurements "
                "taken from your child's finger, not a picture of the fingerprint, and uses "
                "them for nothing else. The law needs a parent's consent in writing; we will "
                "not use it if any parent says no, or if your child does not want to, "
                "whatever the parents said. A child who does not use it pays and borrows "
                "books another way, such as a PIN or a card."
            ),
            "choice": "consent",
            "lawful_basis": "consent",
            "guardian_rule": "biometric",
            "on_leaving": "remove",
            "leaving_days": 5,
            "shared_with": (
                "The company that supplies the catering and library systems, which runs them "
                "for the school and may use the measurements for nothing else."
            ),
            "retention": (
                "Deleted when your child stops using the system, when you or your child say "
                "no, or when your child leaves."
            ),
        },
    ),
)
_BY_KEY = {template.key: template for template in TEMPLATES}


def template(key: str) -> PurposeTemplate:
    """The template with this key; NotFound for any other."""
    found = _BY_KEY.get(key)
    if found is None:
        raise NotFound("no such purpose template")
    return found
