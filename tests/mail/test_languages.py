"""Every email to a family is written in the language they read, and says so (Content-Language,
and the HTML part's `lang` and `dir`); every email to staff is English, even when a parent who
reads another language made it. Sent to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from portal import invitations, objections, signin
from portal.extensions import db
from portal.mail.delivery import send_pending
from portal.models import Guardian
from tests.support.client import CheckedClient, csrf_token
from tests.support.factories import make_staff
from tests.support.mail import MailServer, Received, ask_for_link, sign_in_path
from tests.support.world import World, build_world, decide

T0 = datetime(2025, 10, 6, 9, 30, tzinfo=UTC)
# What the pseudo-locale makes of a message: accented letters in brackets.
PSEUDO = re.compile(r"\[[^\]]*[àƀçđéƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýž][^\]]*\]")


@pytest.fixture
def server() -> Iterator[MailServer]:
    mail = MailServer().start()
    yield mail
    mail.stop()


@pytest.fixture
def mail_app(make_app: Any, server: MailServer) -> Iterator[Flask]:
    app: Flask = make_app(**server.app_config)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def world(mail_app: Flask) -> World:
    return build_world()


def reads(guardian: Guardian, tag: str | None, *, chosen: bool = False) -> None:
    """Store the language a guardian reads: from a roster, or chosen by them."""
    db.session.execute(
        update(Guardian)
        .where(Guardian.id == guardian.id)
        .values(language=tag, language_chosen=chosen)
    )
    db.session.commit()


def root(received: Received) -> str:
    """The HTML part's root element."""
    match = re.search(r"<html\b[^>]*>", received.html())
    assert match, received.html()[:200]
    return match.group(0)


def by_address(received: list[Received]) -> dict[str, Received]:
    return {message.rcpt_tos[0]: message for message in received}


def test_an_invitation_is_in_each_guardians_language(world, server):
    reads(world.eve, "pl")
    reads(world.ben, "ur", chosen=True)
    admin = make_staff(world.oak.school, email="admin@oak.example", role="admin")
    invitations.send(admin, "all")

    assert send_pending().sent == 4
    sent = by_address(server.wait_for(4))
    polish, urdu, english = (
        sent["eve@example.org"],
        sent["ben@example.org"],
        sent["ada@example.org"],
    )
    assert polish.message["Content-Language"] == "pl"
    assert root(polish) == '<html lang="pl" dir="ltr">'
    assert urdu.message["Content-Language"] == "ur"
    assert root(urdu) == '<html lang="ur" dir="rtl">'
    # No language stored: English, as before.
    assert english.message["Content-Language"] == "en-GB"
    assert root(english) == '<html lang="en-GB" dir="ltr">'
    assert english.message["Subject"] == "Oak Primary School asks for your choices"


def test_an_invitation_in_the_pseudo_locale_has_no_english_left(world, server):
    reads(world.eve, "en-XA")
    admin = make_staff(world.oak.school, email="admin@oak.example", role="admin")
    invitations.send(admin, "all")
    send_pending()
    message = by_address(server.wait_for(4))["eve@example.org"]
    assert message.message["Content-Language"] == "en-XA"
    assert PSEUDO.search(message.message["Subject"])
    assert "Oak Primary School" in message.message["Subject"]  # the school's name, as it is
    for body in (message.text(), message.html()):
        assert "asks for your choices" not in body
        assert "never affects your child's education" not in body
        assert "eve@example.org" in body and "http://localhost/sign-in" in body


# --- the sign-in email ---------------------------------------------------------------------


def test_the_sign_in_email_is_in_the_language_of_the_page_it_was_asked_from(
    mail_app, world, server
):
    client: CheckedClient = mail_app.test_client()  # type: ignore[assignment]
    client.set_cookie("lang", "en-XA")
    assert ask_for_link(client, "eve@example.org").status_code == 302
    (received,) = server.wait_for(1)
    message = received.message
    assert message["Content-Language"] == "en-XA"
    assert root(received) == '<html lang="en-XA" dir="ltr">'
    subject = message["Subject"]
    assert PSEUDO.search(subject) and "Oak Primary School" in subject, subject
    assert "sign-in link" not in subject
    text, html = received.text(), received.html()
    for body in (text, html):
        assert PSEUDO.search(body)
        assert "If you did not ask to sign in" not in body
        assert "/sign-in/link/" in body
    # Outside the brackets: the addresses, the code and the school's name.
    outside = re.sub(r"https?://\S+", "", PSEUDO.sub("", text))
    assert set(re.findall(r"[A-Za-z]{3,}", outside)) <= {"Oak", "Primary", "School"}, outside
    # The link works as in English.
    path = sign_in_path(received)
    page = client.get(path)
    assert page.status_code == 200 and "Continue to sign in" not in page.text
    signed = client.post(path, data={"csrf_token": csrf_token(page)})
    assert signed.status_code == 302 and signed.headers["Location"] == "/family"


def test_a_language_the_person_chose_wins_over_the_page(mail_app, world, server):
    reads(world.eve, "pl", chosen=True)
    reads(world.dan, "pl")  # from the roster: the page they asked from decides
    for address in ("eve@example.org", "dan@example.org"):
        client: CheckedClient = mail_app.test_client()  # type: ignore[assignment]
        client.set_cookie("lang", "en-XA")
        ask_for_link(client, address)
    sent = by_address(server.wait_for(2))
    assert sent["eve@example.org"].message["Content-Language"] == "pl"
    assert root(sent["eve@example.org"]) == '<html lang="pl" dir="ltr">'
    assert sent["dan@example.org"].message["Content-Language"] == "en-XA"


def test_a_sign_in_email_queued_without_a_language_is_english(mail_app, world, server):
    """What the outbox held before emails had a language (and what scripts queue): English."""
    signin.request_link("eve@example.org")
    send_pending()
    (received,) = server.wait_for(1)
    assert received.message["Content-Language"] == "en-GB"
    assert received.message["Subject"] == "Your sign-in link for Oak Primary School"
    assert root(received) == '<html lang="en-GB" dir="ltr">'


# --- staff emails stay English -------------------------------------------------------------


def test_an_objection_by_a_parent_who_reads_polish_emails_the_admins_in_english(
    mail_app, world, server
):
    """The admins' email is English even when it is written during the Polish parent's
    request; the outcome goes back to the parent in Polish (its date too)."""
    reads(world.eve, "pl", chosen=True)
    admin = make_staff(world.oak.school, email="admin@oak.example", role="admin")
    classes, pupil = world.oak.purposes["class-photos"], world.oak.pupils["C"]
    polish_page = {"headers": {"Cookie": "lang=pl"}}
    with mail_app.test_request_context("/family", **polish_page):
        asked = decide(world.eve, classes, "object", pupil=pupil, now=T0)
        assert send_pending().sent == 1
    (review,) = server.wait_for(1)
    assert review.rcpt_tos == ["admin@oak.example"]
    assert review.message["Content-Language"] == "en-GB"
    assert root(review) == '<html lang="en-GB">'
    assert review.message["Subject"].startswith("An objection to review by ")
    for body in (review.text(), review.html()):
        assert "on 6 October 2025" in body  # not "6 października 2025"
        assert "października" not in body

    objections.record_outcome(admin.id, world.oak.id, asked.seq, upheld=True, reasons="")
    with mail_app.test_request_context("/staff/objections"):
        assert send_pending().sent == 1
    outcome = server.wait_for(2)[1]
    assert outcome.rcpt_tos == ["eve@example.org"]
    assert outcome.message["Content-Language"] == "pl"
    assert root(outcome) == '<html lang="pl" dir="ltr">'
    assert "6 października 2025" in outcome.text()


def test_a_roster_language_column_makes_the_invitation_polish(mail_app, server):
    """The school's MIS says Katarzyna's home language is Polish: the roster's `language`
    column stores it, and her invitation arrives in Polish over SMTP, with
    Content-Language: pl; her neighbour without a language gets English."""
    from portal import roster
    from tests.support.factories import make_school
    from tests.support.web import say

    school = make_school(slug="ash-primary", name="Ash Primary School")
    header = ",".join(roster.REQUIRED_COLUMNS) + ",language"
    report = roster.import_roster(school, "\n".join((
        header,
        "A1,Zofia,Nowak,3,3 Oak,Katarzyna,Nowak,k.nowak@example.org,Mother,yes,pl",
        "A2,Tom,Lee,3,3 Oak,Jo,Lee,jo.lee@example.org,Mother,yes,",
    )) + "\n")  # fmt: skip
    assert report.rejected == []
    admin = make_staff(school, email="admin@ash.example", role="admin")
    invitations.send(admin, "all")
    assert send_pending().sent == 2
    sent = by_address(server.wait_for(2))
    polish, english = sent["k.nowak@example.org"], sent["jo.lee@example.org"]
    assert polish.message["Content-Language"] == "pl"
    assert root(polish) == '<html lang="pl" dir="ltr">'
    subject = "%(school)s asks for your choices"
    assert polish.message["Subject"] == say("pl", subject, school="Ash Primary School")
    assert polish.message["Subject"] != say("en", subject, school="Ash Primary School")
    assert english.message["Content-Language"] == "en-GB"
    assert english.message["Subject"] == "Ash Primary School asks for your choices"
