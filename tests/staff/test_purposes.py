"""The school's purposes in the staff workspace: the list, adding one, changing one (a new
wording version asks families for a fresh answer), retiring one; each in the audit log, by
admins only, within their own school.

The world (tests/ledger/conftest.py): at Oak, Ada and Ben have parental responsibility for
pupil A, Ada and Dan for B; Oak has one purpose of every kind (tests/factories.py).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select, update

from portal import purposes
from portal.extensions import db
from portal.models import ConsentEvent, Purpose, PurposeVersion, StaffAuditEntry, StaffUser
from tests.support.client import CheckedClient
from tests.support.web import post_form, sign_in_as, text_of
from tests.support.world import World, decide

PLAIN: dict[str, str] = {}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}
HEADERS = pytest.mark.parametrize("headers", [PLAIN, BOOSTED], ids=["plain", "boosted"])

NEW = {
    "key": "sports-day-videos",
    "title": "Videos of sports day",
    "description": "Short videos of sports day, shown to families at the summer fair.",
    "choice": "consent",
    "lawful_basis": "consent",
    "scope": "pupil",
    "guardian_rule": "any_objection_blocks",
    "renewal": "days",
    "renewal_days": "365",
    "publishable": "y",
    "shared_with": "Families at the summer fair.",
    "retention": "One year.",
}


# --- helpers -------------------------------------------------------------------------------


def purpose(key: str, school_id: int) -> Purpose:
    db.session.expire_all()
    return db.session.scalars(
        select(Purpose).where(Purpose.school_id == school_id, Purpose.key == key)
    ).one()


def form_of(p: Purpose, **changes: Any) -> dict[str, Any]:
    """What the edit form sends back for a purpose, with some fields changed."""
    data: dict[str, Any] = {
        "title": p.title,
        "description": p.description,
        "choice": p.choice,
        "lawful_basis": p.lawful_basis,
        "scope": p.scope,
        "guardian_rule": p.guardian_rule,
        "renewal": p.renewal,
        "renewal_days": str(p.renewal_days or ""),
        "shared_with": p.shared_with or "",
        "retention": p.retention or "",
    }
    for flag in ("publishable", "marketing"):
        if getattr(p, flag):
            data[flag] = "y"
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def audit_entries(action: str | None = None) -> list[tuple[str, int | None, dict]]:
    query = select(StaffAuditEntry).order_by(StaffAuditEntry.id)
    if action:
        query = query.where(StaffAuditEntry.action == action)
    return [
        (entry.action, entry.staff_user_id, json.loads(entry.detail))
        for entry in db.session.scalars(query)
    ]


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def state() -> tuple[Any, ...]:
    """Everything the purpose pages may write, for "nothing changed" checks."""
    db.session.expire_all()
    columns = ("id", "key", "title", "description", "choice", "scope", "lawful_basis",
               "version", "active", "publishable")  # fmt: skip
    query = select(*(getattr(Purpose, name) for name in columns)).order_by(Purpose.id)
    rows = db.session.execute(query).all()
    return (tuple(rows), count(PurposeVersion), count(StaffAuditEntry))


def admin_id() -> int:
    return db.session.scalars(
        select(StaffUser.id).where(StaffUser.email == "admin@oak.example")
    ).one()


def error_beside(page_text: str, field: str) -> str:
    match = re.search(
        rf'<p id="{field}-error" class="govuk-error-message">\s*'
        r'<span class="govuk-visually-hidden">Error:</span>\s*([^<]+)</p>',
        page_text,
    )
    assert match, f"no error beside {field}"
    return match.group(1).strip()


def card(page: Any, purpose_id: int) -> str:
    match = re.search(
        rf'<section class="portal-card[^"]*" id="purpose-{purpose_id}".*?</section>',
        page.text,
        re.S,
    )
    assert match, f"no card for purpose {purpose_id}"
    return match.group(0)


@pytest.fixture
def ada(app: Any, world: World) -> CheckedClient:
    client: CheckedClient = app.test_client()
    sign_in_as(client, "ada@example.org")
    return client


def child_path(world: World, key: str = "A") -> str:
    return f"/family/children/{world.oak.pupils[key].id}"


def edit_path(p: Purpose) -> str:
    return f"/staff/purposes/{p.id}/edit"


def retire_path(p: Purpose) -> str:
    return f"/staff/purposes/{p.id}/retire"


# --- the list ------------------------------------------------------------------------------


@HEADERS
def test_the_list_shows_purposes_in_order_and_retired_ones_apart(admin, world, headers):
    census = world.oak.purposes["school-census"]
    db.session.execute(update(Purpose).where(Purpose.id == census.id).values(active=False))
    db.session.commit()
    page = admin.get("/staff/purposes", headers=headers)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    in_use, _, retired = page.text.partition("Retired</caption>")
    titles = ["Photos on the school website", "Photos in the local paper", "Videos of school trips",
              "Class photos on display in school", "Fundraising emails",
              "Calls from the alumni association"]  # fmt: skip
    assert [in_use.index(t) for t in titles] == sorted(in_use.index(t) for t in titles)
    assert "The school census" not in in_use and "The school census" in retired
    website = text_of(re.search(r'<tr class="govuk-table__row" id="purpose-'
                                rf'{world.oak.purposes["photos-website"].id}".*?</tr>',
                                in_use, re.S).group(0))  # fmt: skip
    assert website.startswith("Photos on the school website photos-website Consent Consent 1 Yes")
    alumni = text_of(re.search(r'<tr class="govuk-table__row" id="purpose-'
                               rf'{world.oak.purposes["alumni-calls"].id}".*?</tr>',
                               in_use, re.S).group(0))  # fmt: skip
    assert "Objection, each guardian for themselves Legitimate interests 1 No" in alumni
    assert "(marketing)" in in_use
    assert 'href="/staff/purposes/templates"' in page.text  # the chooser, then the form
    assert f'href="{edit_path(world.oak.purposes["photos-website"])}"' in page.text
    assert f'href="{retire_path(world.oak.purposes["photos-website"])}"' in page.text
    assert f'href="{edit_path(census)}"' not in page.text


# --- adding --------------------------------------------------------------------------------


@HEADERS
def test_an_admin_adds_a_purpose_that_families_then_see(admin, world, ada, headers):
    page = admin.get("/staff/purposes/new", headers=headers)
    assert page.status_code == 200 and "Add a purpose" in page.text
    response = post_form(admin, "/staff/purposes/new", NEW, page=page, headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/purposes"

    added = purpose("sports-day-videos", world.oak.id)
    assert (added.title, added.choice, added.lawful_basis, added.scope) == (
        "Videos of sports day", "consent", "consent", "pupil",
    )  # fmt: skip
    assert (added.renewal, added.renewal_days, added.publishable, added.marketing) == (
        "days", 365, True, False,
    )  # fmt: skip
    assert (added.version, added.active) == (1, True)
    assert added.position > max(p.position for p in world.oak.purposes.values())
    assert [(v.version, v.title) for v in added.versions] == [(1, "Videos of sports day")]
    assert audit_entries("purpose.create") == [
        ("purpose.create", admin_id(), {"purpose_id": added.id, "key": "sports-day-videos",
                                        "title": "Videos of sports day", "version": 1}),
    ]  # fmt: skip
    listing = admin.get("/staff/purposes")
    assert "“Videos of sports day” is added" in listing.text

    child = ada.get(child_path(world))
    text = text_of(card(child, added.id))
    assert "Videos of sports day" in text and "Not answered" in text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"choice": "objection"}, "lawful_basis",
         "An objection choice needs the lawful basis Public task or Legitimate interests"),
        ({"lawful_basis": "public_task"}, "lawful_basis",
         "A consent choice needs the lawful basis Consent"),
        ({"choice": "none"}, "lawful_basis",
         "Processing based on consent must give families a consent choice"),
        ({"marketing": "y"}, "marketing", "Marketing needs a consent choice that each guardian"),
        ({"title": ""}, "title", "Enter a title"),
        ({"description": "   "}, "description", "Enter a description"),
        ({"key": ""}, "key", "Enter a key, like photos-website"),
        ({"key": "Sports Day"}, "key", "Enter a key of lower-case letters and digits"),
        ({"key": "photos-website"}, "key", "This school already has a purpose with this key"),
        ({"choice": None}, "choice", "Choose what kind of choice families have"),
        ({"renewal_days": ""}, "renewal_days", "Enter the number of days as a whole number"),
        ({"renewal_days": "a year"}, "renewal_days", "Enter the number of days as a whole"),
        ({"renewal_days": "0"}, "renewal_days", "Enter the number of days as a whole number"),
        ({"title": "T" * 201}, "title", "The title must be 200 characters or fewer"),
    ],
)  # fmt: skip
def test_an_invalid_purpose_is_refused_beside_its_field(admin, world, changes, field, message):
    page = admin.get("/staff/purposes/new")
    before = state()
    data = {name: value for name, value in {**NEW, **changes}.items() if value is not None}
    response = post_form(admin, "/staff/purposes/new", data, page=page)
    assert response.status_code == 400
    assert "<title>Error: Add a purpose" in response.text
    assert "There is a problem" in response.text
    assert f'<a href="#{field}">{message}' in response.text
    assert error_beside(response.text, field).startswith(message)
    if changes.get("key") == "Sports Day":
        assert 'value="Sports Day"' in response.text  # what was typed is kept
    assert state() == before


def test_the_renewal_days_are_ignored_unless_a_yes_runs_out_after_days(admin, world):
    page = admin.get("/staff/purposes/new")
    response = post_form(admin, "/staff/purposes/new", {**NEW, "renewal": "academic_year"},
                         page=page)  # fmt: skip
    assert response.status_code == 302
    added = purpose("sports-day-videos", world.oak.id)
    assert (added.renewal, added.renewal_days) == ("academic_year", None)


# --- changing ------------------------------------------------------------------------------


@HEADERS
def test_new_wording_makes_version_two_and_families_are_asked_again(admin, world, ada, headers):
    website = world.oak.purposes["photos-website"]
    decide(world.ada, website, "grant", pupil=world.oak.pupils["A"])
    decide(world.ben, website, "grant", pupil=world.oak.pupils["A"])
    decide(world.dan, website, "withdraw", pupil=world.oak.pupils["B"])
    assert "Needs a fresh answer" not in card(ada.get(child_path(world)), website.id)

    page = admin.get(edit_path(website), headers=headers)
    assert page.status_code == 200
    # Before saving: how many yes answers a new wording would send back to families.
    assert ("Changing the title or description makes version 2: 2 ‘yes’ answers given to "
            "the current wording will need renewing") in text_of(page.text)  # fmt: skip
    assert 'value="Photos on the school website"' in page.text
    new_words = "Photos and videos of school life on the school website and its Instagram page."
    response = post_form(admin, edit_path(website), form_of(website, description=new_words),
                         page=page, headers=headers)  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/purposes"

    changed = purpose("photos-website", world.oak.id)
    assert (changed.version, changed.description) == (2, new_words)
    assert [(v.version, v.description) for v in changed.versions] == [
        (1, "Photos of school life on the school website."),
        (2, new_words),
    ]
    assert audit_entries("purpose.update") == [
        ("purpose.update", admin_id(),
         {"purpose_id": website.id, "key": "photos-website", "fields": ["description"],
          "version": 2, "reworded": True, "needs_renewal": 2}),
    ]  # fmt: skip
    # After saving: the admin is told, and Ada's earlier yes needs a fresh answer.
    listing = text_of(admin.get("/staff/purposes").text)
    assert ("“Photos on the school website” is now version 2. 2 ‘yes’ answers to the earlier "
            "wording now need renewing") in listing  # fmt: skip
    text = text_of(card(ada.get(child_path(world)), website.id))
    assert "Needs a fresh answer" in text
    assert "but the school has since changed what it asks" in text
    assert "Photos added: and videos of school life on the school" in text
    # The ledger is as it was: the decisions stand, against version 1.
    assert {e.purpose_version for e in db.session.scalars(select(ConsentEvent))} == {1}
    # The edit page now counts the yes answers to version 2: none.
    page = admin.get(edit_path(changed))
    assert "No family has said yes to the current wording" in text_of(page.text)


def test_changing_a_setting_keeps_the_wording_version(admin, world, ada):
    website = world.oak.purposes["photos-website"]
    decide(world.ada, website, "grant", pupil=world.oak.pupils["A"])
    page = admin.get(edit_path(website))
    data = form_of(website, renewal="academic_year", retention="Two years.")
    del data["publishable"]  # unticked
    response = post_form(admin, edit_path(website), data, page=page)
    assert response.status_code == 302
    changed = purpose("photos-website", world.oak.id)
    assert (changed.version, changed.renewal, changed.publishable, changed.retention) == (
        1, "academic_year", False, "Two years.",
    )  # fmt: skip
    assert audit_entries("purpose.update")[0][2]["fields"] == ["renewal", "retention",
                                                               "publishable"]  # fmt: skip
    assert audit_entries("purpose.update")[0][2]["reworded"] is False
    assert "is saved. Its wording did not change." in admin.get("/staff/purposes").text
    assert "Needs a fresh answer" not in card(ada.get(child_path(world)), website.id)


def test_saving_without_a_change_records_nothing(admin, world):
    website = world.oak.purposes["photos-website"]
    page = admin.get(edit_path(website))
    before = state()
    response = post_form(admin, edit_path(website), form_of(website), page=page)
    assert response.status_code == 302
    assert state() == before
    assert "Nothing changed" in admin.get("/staff/purposes").text


def test_a_browsers_line_breaks_are_not_new_wording(admin, world):
    page = admin.get("/staff/purposes/new")
    post_form(admin, "/staff/purposes/new", {**NEW, "description": "Line one.\r\nLine two."},
              page=page)  # fmt: skip
    added = purpose("sports-day-videos", world.oak.id)
    assert added.description == "Line one.\nLine two."
    page = admin.get(edit_path(added))
    before = state()
    again = form_of(added, description="Line one.\r\nLine two.\r\n")
    response = post_form(admin, edit_path(added), again, page=page)
    assert response.status_code == 302
    assert state() == before
    assert purpose("sports-day-videos", world.oak.id).version == 1


def test_the_choice_or_scope_of_a_purpose_with_decisions_cannot_change(admin, world):
    website = world.oak.purposes["photos-website"]
    decide(world.ada, website, "grant", pupil=world.oak.pupils["A"])
    page = admin.get(edit_path(website))
    assert "Families have made 1 decision about this purpose, so this cannot change" in page.text
    before = state()
    for changes, field, why in [
        ({"choice": "objection", "lawful_basis": "public_task"}, "choice",
         "You cannot change the kind of choice: families have made 1 decision about this "
         "purpose as it is. Retire it and add a new purpose instead"),
        ({"scope": "guardian"}, "scope",
         "You cannot change who makes the choice: families have made 1 decision"),
    ]:  # fmt: skip
        response = post_form(admin, edit_path(website), form_of(website, **changes), page=page)
        assert response.status_code == 400
        assert error_beside(response.text, field).startswith(why)
        assert state() == before


def test_the_choice_of_a_purpose_nobody_has_answered_can_change(admin, world):
    trips = world.oak.purposes["trip-videos"]
    page = admin.get(edit_path(trips))
    response = post_form(admin, edit_path(trips),
                         form_of(trips, choice="objection", lawful_basis="public_task"),
                         page=page)  # fmt: skip
    assert response.status_code == 302
    changed = purpose("trip-videos", world.oak.id)
    assert (changed.choice, changed.lawful_basis, changed.version) == (
        "objection", "public_task", 1,
    )  # fmt: skip
    assert audit_entries("purpose.update")[0][2]["fields"] == ["choice", "lawful_basis"]


def test_an_invalid_change_is_refused_and_the_form_keeps_what_was_typed(admin, world):
    website = world.oak.purposes["photos-website"]
    page = admin.get(edit_path(website))
    before = state()
    response = post_form(admin, edit_path(website),
                         form_of(website, title="New title", marketing="y"), page=page)  # fmt: skip
    assert response.status_code == 400
    assert "<title>Error: Change a purpose" in response.text
    assert error_beside(response.text, "marketing").startswith("Marketing needs a consent choice")
    assert 'value="New title"' in response.text
    assert state() == before


# --- retiring ------------------------------------------------------------------------------


@HEADERS
def test_retiring_asks_first_then_hides_the_purpose_and_keeps_its_decisions(
    admin, world, ada, headers
):
    website = world.oak.purposes["photos-website"]
    decide(world.ada, website, "grant", pupil=world.oak.pupils["A"])
    events_before = count(ConsentEvent)

    confirm = admin.get(retire_path(website), headers=headers)
    assert confirm.status_code == 200
    assert "Retire “Photos on the school website”?" in confirm.text
    assert "the 1 decision families made about it stay in the ledger" in text_of(confirm.text)
    assert purpose("photos-website", world.oak.id).active  # asking changed nothing

    response = post_form(admin, retire_path(website), {}, page=confirm, headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/purposes"
    retired = purpose("photos-website", world.oak.id)
    assert retired.active is False and retired.version == 1
    assert audit_entries("purpose.retire") == [
        ("purpose.retire", admin_id(),
         {"purpose_id": website.id, "key": "photos-website", "version": 1,
          "decisions_kept": 1}),
    ]  # fmt: skip
    listing = admin.get("/staff/purposes")
    assert "is retired: families no longer see it" in listing.text
    assert "Photos on the school website" in listing.text.partition("Retired</caption>")[2]

    # Gone from the child's page; still in Ada's history and in the ledger.
    assert f'id="purpose-{website.id}"' not in ada.get(child_path(world)).text
    history = text_of(ada.get("/family/history").text)
    assert "Photos on the school website" in history
    assert count(ConsentEvent) == events_before


def test_retiring_a_retired_purpose_changes_nothing(admin, world):
    website = world.oak.purposes["photos-website"]
    page = admin.get(retire_path(website))
    post_form(admin, retire_path(website), {}, page=page)
    before = state()
    page = admin.get(retire_path(website))
    assert "already retired" in page.text
    response = post_form(admin, retire_path(website), {}, page=admin.get("/staff/purposes"))
    assert response.status_code == 302
    assert state() == before


# --- who may, and what not -----------------------------------------------------------------


def routes(world: World) -> list[tuple[str, str]]:
    p = world.oak.purposes["photos-website"]
    return [
        ("GET", "/staff/purposes"),
        ("GET", "/staff/purposes/new"),
        ("POST", "/staff/purposes/new"),
        ("GET", edit_path(p)),
        ("POST", edit_path(p)),
        ("GET", retire_path(p)),
        ("POST", retire_path(p)),
    ]


def test_another_schools_purposes_answer_404(elm_admin, world):
    page = elm_admin.get("/staff/purposes")
    assert page.status_code == 200 and "Photos on the school website" in page.text  # Elm's own
    before = state()
    for method, path in routes(world)[3:]:
        if method == "GET":
            response = elm_admin.get(path)
        else:
            data = form_of(world.oak.purposes["photos-website"], title="Elm was here")
            response = post_form(elm_admin, path, data, page=page)
        assert response.status_code == 404, (method, path)
    assert state() == before


def test_without_a_csrf_token_nothing_changes(admin, world):
    website = world.oak.purposes["photos-website"]
    admin.get("/staff/purposes")
    before = state()
    for path, data in [("/staff/purposes/new", NEW),
                       (edit_path(website), form_of(website, title="Changed")),
                       (retire_path(website), {})]:  # fmt: skip
        assert admin.post(path, data=data).status_code == 400
    assert state() == before


def test_the_views_are_guarded_for_admins_only(app):
    for endpoint in ("staff.purposes", "staff.new_purpose", "staff.edit_purpose",
                     "staff.retire_purpose"):  # fmt: skip
        assert app.view_functions[endpoint].allowed_roles == {"admin"}


# --- one set of rules for the purposes file and the forms ----------------------------------


def test_the_file_and_the_form_are_checked_by_the_same_rules(app):
    from portal import purposes

    entry = {**NEW, "choice": "objection", "renewal_days": 365, "publishable": True}
    spec, problems = purposes.check(entry)
    assert spec is None
    assert [(p.field, p.message) for p in problems] == [
        ("lawful_basis", 'an "objection" choice needs lawful_basis "public_task" or '
                         '"legitimate_interests" (the right to object applies to those)'),
    ]  # fmt: skip
    toml = "\n".join(
        f"{name} = {value!r}" if isinstance(value, str) else f"{name} = {str(value).lower()}"
        for name, value in entry.items()
    )
    with pytest.raises(purposes.PurposesFileError) as refused:
        purposes.parse("[[purposes]]\n" + toml)
    assert refused.value.problems == [f"purpose 1 (sports-day-videos): {problems[0].message}"]


def test_a_change_reads_the_purpose_afresh_not_as_the_page_loaded_it(app, world):
    """Another admin saved version 2 after this page loaded the purpose: saving new words
    makes version 3 (not a second version 2)."""
    from portal import purposes
    from portal.types import utcnow

    website = world.oak.purposes["photos-website"]
    loaded = purposes.get(world.oak.id, website.id)  # as the edit view loads it
    assert loaded.version == 1
    with db.engine.begin() as other:  # the other admin, in their own transaction
        other.execute(
            update(Purpose).where(Purpose.id == website.id).values(title="Their title", version=2)
        )
        other.execute(
            PurposeVersion.__table__.insert().values(
                school_id=world.oak.id, purpose_id=website.id, version=2, title="Their title",
                description=website.description, created_at=utcnow(),
            )
        )  # fmt: skip
    staff = db.session.get(StaffUser, admin_id())
    entry = {name: getattr(loaded, name) for name in purposes.SETTINGS}
    entry.update(title="My title", description=loaded.description)
    change = purposes.update(world.oak.id, website.id, entry, staff=staff)
    assert (change.outcome, change.purpose.version, change.purpose.title) == (
        "reworded", 3, "My title",
    )  # fmt: skip
    assert [v.title for v in purpose("photos-website", world.oak.id).versions] == [
        "Photos on the school website", "Their title", "My title",
    ]  # fmt: skip


# --- take-down days and leaving ------------------------------------------------------------


def test_the_form_sets_what_happens_when_a_pupil_leaves(admin, world):
    page = admin.get("/staff/purposes/new")
    assert 'name="on_leaving"' in page.text and 'name="takedown_days"' in page.text
    data = {**NEW, "takedown_days": "3", "on_leaving": "remove", "leaving_days": "7",
            "keep_months": "12"}  # keep_months is ignored: it goes with "keep" only  # fmt: skip
    response = post_form(admin, "/staff/purposes/new", data, page=page)
    assert response.status_code == 302, response.text
    made = purpose("sports-day-videos", world.oak.id)
    assert (made.takedown_days, made.on_leaving, made.leaving_days, made.keep_months) == (
        3, "remove", 7, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"leaving_days": "many", "on_leaving": "review"}, "leaving_days",
         "Enter the number of working days after a pupil leaves as a whole number from 0 to 60"),
        ({"takedown_days": "99"}, "takedown_days",
         "Enter the number of working days for a take-down as a whole number from 0 to 60"),
        ({"on_leaving": "shred"}, "on_leaving", "Choose what happens when a pupil leaves"),
    ],
)  # fmt: skip
def test_the_form_refuses_a_bad_leaving_setting_beside_its_field(admin, world, changes, field,
                                                                 message):  # fmt: skip
    page = admin.get("/staff/purposes/new")
    response = post_form(admin, "/staff/purposes/new", {**NEW, **changes}, page=page)
    assert response.status_code == 400
    assert message in text_of(response.text)
    assert f'href="#{field}"' in response.text
    assert db.session.scalars(select(Purpose).where(Purpose.key == "sports-day-videos")).all() == []


# --- translations of the wording -----------------------------------------------------------


def translations_path(p: Purpose) -> str:
    return f"/staff/purposes/{p.id}/translations"


def translations_of(p: Purpose) -> list[tuple[int, str, str, str]]:
    from portal.models import PurposeTranslation

    db.session.expire_all()
    return [
        (t.version, t.language, t.title, t.description)
        for t in db.session.scalars(
            select(PurposeTranslation)
            .where(PurposeTranslation.purpose_id == p.id)
            .order_by(PurposeTranslation.version, PurposeTranslation.id)
        )
    ]


WELSH = {
    "language": "cy",
    "title": "Lluniau ar wefan yr ysgol",
    "description": "Lluniau o fywyd yr ysgol\r\nar wefan yr ysgol.",
    "version": "1",
}


@HEADERS
def test_an_admin_translates_the_current_wording_and_families_read_it(admin, world, ada, headers):
    website = world.oak.purposes["photos-website"]
    listing = admin.get("/staff/purposes")
    assert f'href="{translations_path(website)}"' in listing.text
    assert f'href="{translations_path(website)}"' in admin.get(edit_path(website)).text
    page = admin.get(translations_path(website), headers=headers)
    assert page.status_code == 200
    assert "Translations of “Photos on the school website”" in page.text
    assert "No language yet" in page.text
    assert '<option value="cy">Welsh</option>' in page.text
    assert 'name="version" type="hidden" value="1"' in page.text
    response = post_form(admin, translations_path(website), WELSH, page=page, headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"] == translations_path(website)
    assert translations_of(website) == [
        (1, "cy", "Lluniau ar wefan yr ysgol", "Lluniau o fywyd yr ysgol\nar wefan yr ysgol."),
    ]
    assert audit_entries("purpose.translate") == [
        ("purpose.translate", admin_id(), {"purpose_id": website.id, "key": "photos-website",
                                           "version": 1, "language": "cy",
                                           "title": "Lluniau ar wefan yr ysgol"}),
    ]  # fmt: skip
    page = admin.get(translations_path(website))
    assert "The Welsh translation of “Photos on the school website” is added." in page.text
    assert '<option value="cy">' not in page.text  # one per language and version
    assert '<strong lang="cy" dir="ltr">Lluniau ar wefan yr ysgol</strong>' in page.text
    # A family reading Welsh sees it on the card.
    ada.set_cookie("lang", "cy")
    assert "Lluniau ar wefan yr ysgol</h3>" in card(ada.get(child_path(world)), website.id)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"language": ""}, "language", "Choose the language of the translation"),
        ({"language": "en"}, "language", "Choose one of the languages listed"),
        ({"language": "xx"}, "language", "Choose one of the languages listed"),
        ({"title": " "}, "title", "Enter a title"),
        ({"description": ""}, "description", "Enter a description"),
        ({"title": "T" * 201}, "title", "The title must be 200 characters or fewer"),
    ],
)
def test_a_translation_with_a_problem_is_refused_beside_its_field(
    admin, world, changes, field, message
):
    website = world.oak.purposes["photos-website"]
    page = admin.get(translations_path(website))
    before = state()
    response = post_form(admin, translations_path(website), {**WELSH, **changes}, page=page)
    assert response.status_code == 400
    assert error_beside(response.text, field) == message
    assert f'<a href="#{field}">{message}</a>' in response.text
    assert state() == before and translations_of(website) == []


def test_a_translation_of_a_wording_changed_meanwhile_is_refused(admin, world):
    """The page offered version 1; another admin has made version 2 since: the Welsh words
    translate the old English, so they are not added to the new."""
    website = world.oak.purposes["photos-website"]
    page = admin.get(translations_path(website))
    post_form(admin, edit_path(website), form_of(website, description="New words."), page=page)
    response = post_form(admin, translations_path(website), WELSH, page=page)
    assert response.status_code == 400
    assert error_beside(response.text, "language") == (
        "The English wording changed while you were translating it: it is now version 2. "
        "Translate the new wording"
    )
    assert translations_of(website) == []
    # The form now translates version 2, and shows its English.
    assert 'name="version" type="hidden" value="2"' in admin.get(translations_path(website)).text


def test_a_new_english_wording_starts_without_translations(admin, world):
    website = world.oak.purposes["photos-website"]
    page = admin.get(translations_path(website))
    post_form(admin, translations_path(website), WELSH, page=page)
    post_form(admin, edit_path(website), form_of(website, description="New words."), page=page)
    page = admin.get(translations_path(website))
    assert "No language yet" in page.text  # of version 2
    assert '<option value="cy">Welsh</option>' in page.text
    assert "earlier wording" in page.text  # version 1's Welsh is listed, as it was
    response = post_form(admin, translations_path(website),
                         {**WELSH, "version": "2", "description": "Geiriau newydd."},
                         page=page)  # fmt: skip
    assert response.status_code == 302
    assert [(v, lang) for v, lang, _, _ in translations_of(website)] == [(1, "cy"), (2, "cy")]


def test_another_schools_purpose_cannot_be_translated(elm_admin, world):
    website = world.oak.purposes["photos-website"]
    page = elm_admin.get("/staff/purposes")
    assert elm_admin.get(translations_path(website)).status_code == 404
    response = post_form(elm_admin, translations_path(website), WELSH, page=page)
    assert response.status_code == 404
    assert translations_of(website) == []


# --- starting from a template --------------------------------------------------------------


def test_the_chooser_lists_each_template_with_its_choice_and_lawful_basis(admin, world):
    page = admin.get("/staff/purposes/templates")
    assert page.status_code == 200
    words = text_of(page.text)
    for template in purposes.TEMPLATES:
        assert f'href="/staff/purposes/new?template={template.key}"' in page.text
        assert template.name in html.unescape(words)
    assert "Information only; lawful basis: Public task" in words  # CCTV
    assert "Consent; lawful basis: Consent; the biometric rule" in words
    assert 'href="/staff/purposes/new"' in page.text  # a blank form


def test_a_template_fills_the_wording_and_sets_the_lawful_basis_for_the_admin(admin, world):
    page = admin.get("/staff/purposes/new?template=cctv")
    assert page.status_code == 200
    words = html.unescape(text_of(page.text))
    assert "Started from the template CCTV on the school site" in words
    assert "Set by the template" in words and "Information only" in words
    assert "Public task" in words
    # The admin is not asked to choose a lawful basis or a kind of choice.
    for name in ("choice", "lawful_basis", "scope", "guardian_rule", "publishable", "marketing"):
        assert f'name="{name}"' not in page.text, name
    assert 'name="template" type="hidden" value="cctv"' in page.text
    assert "Recordings are kept for 30 days" in page.text
    assert 'value="cctv"' in page.text  # the key it suggests


def test_adding_from_a_template_saves_what_the_template_fixes_whatever_is_posted(admin, world,
                                                                                 ada):  # fmt: skip
    template = purposes.template("biometric-recognition")
    page = admin.get("/staff/purposes/new?template=biometric-recognition")
    data = {
        "template": template.key,
        "key": "fingerprints",
        "title": "Fingerprints at lunch",
        "description": template.entry["description"],
        "renewal": "never",
        "on_leaving": "remove",
        "leaving_days": "5",
        "shared_with": "Our catering supplier.",
        "retention": "Until your child leaves.",
        # Posted by hand, not by the page: the template decides these.
        "lawful_basis": "vital_interests",
        "guardian_rule": "latest_wins",
        "publishable": "y",
    }
    response = post_form(admin, "/staff/purposes/new", data, page=page)
    assert response.status_code == 302
    saved = purpose("fingerprints", world.oak.id)
    assert (saved.choice, saved.lawful_basis, saved.scope) == ("consent", "consent", "pupil")
    assert (saved.guardian_rule, saved.publishable, saved.marketing) == ("biometric", False, False)
    assert (saved.title, saved.on_leaving, saved.leaving_days) == ("Fingerprints at lunch",
                                                                 "remove", 5)  # fmt: skip
    [(_, who, detail)] = audit_entries("purpose.create")
    assert (who, detail["template"], detail["key"]) == (admin_id(), template.key, "fingerprints")
    # Families see it, and are asked.
    assert "Fingerprints at lunch" in ada.get(child_path(world)).text


def test_a_template_form_with_a_problem_keeps_the_template(admin, world):
    page = admin.get("/staff/purposes/new?template=photos-website")
    data = {"template": "photos-website", "key": "photos-website", "title": "Website photos",
            "description": "Photos.", "renewal": "academic_year", "on_leaving": "keep"}  # fmt: skip
    before = state()
    response = post_form(admin, "/staff/purposes/new", data, page=page)
    assert response.status_code == 400
    assert "already has a purpose with this key" in html.unescape(text_of(response.text))
    assert "Started from the template" in text_of(response.text)
    assert 'name="lawful_basis"' not in response.text
    assert state() == before


def test_an_unknown_template_answers_404_and_adds_nothing(admin, world):
    assert admin.get("/staff/purposes/new?template=vital-interests").status_code == 404
    page = admin.get("/staff/purposes/new")
    before = state()
    response = post_form(admin, "/staff/purposes/new", {**NEW, "template": "nonsense"}, page=page)
    assert response.status_code == 404
    assert state() == before


def test_the_full_form_offers_the_biometric_rule(admin, world):
    page = admin.get("/staff/purposes/new")
    assert 'value="biometric"' in page.text
    response = post_form(admin, "/staff/purposes/new",
                         {**NEW, "guardian_rule": "biometric"}, page=page)  # fmt: skip
    assert response.status_code == 400  # NEW is offered in the photo check
    assert error_beside(response.text, "publishable") == (
        "Biometric recognition is never published: do not offer it in the photo check"
    )
