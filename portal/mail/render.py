"""Turn an outbox row into an email, by the kind of email it is.

Each kind of email (sign-in, receipt, take-down, invitation, ...) is registered by the
application factory (`portal.wiring`) with `register(app, ...)`: its subject, a function that
builds the template's context from the row's payload, and optionally a function that merges
several payloads into one (messages that may be coalesced) and a line to log when mail goes to
the outbox folder. This module imports no feature module: the features hand it what it needs.

A context function may decline (return None with a reason): a sign-in email whose link has
expired or been replaced before it could be sent is not worth sending.

Every email is written in one language, the language of the person it goes to: a kind of
email to a family registers a `language` function, which reads (when the email is written)
the tag of the language its payload's parent or carer reads; the builder, the subject and the
templates then run inside `in_language(tag)`, so messages and dates are in that language.
A kind without one, an email to staff, is English, whoever's request made it. The message
says its language (`Content-Language`), and the templates get it as `email_lang` and
`email_dir` for the HTML part's root element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import Flask, current_app, render_template

from .. import languages
from ..languages import in_language
from ..types import utcnow


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    log_line: str | None = None  # said in the log when mail goes to the folder
    language: str = "en-GB"  # the Content-Language, as the HTML part's `lang` says it


ContextBuilder = Callable[[dict[str, Any], datetime], tuple[dict[str, Any] | None, str]]
PayloadMerger = Callable[[Sequence[dict[str, Any]]], dict[str, Any]]
LogLine = Callable[[dict[str, Any]], str]
# The tag of the language a payload's email is written in (None: English).
LanguageOf = Callable[[dict[str, Any]], str | None]


@dataclass(frozen=True)
class EmailKind:
    """One kind of email: templates/emails/TEMPLATE.txt and .html."""

    template: str
    subject: str  # formatted with the builder's context
    builder: ContextBuilder
    merger: PayloadMerger | None = None
    log_line: LogLine | None = None
    language: LanguageOf | None = None  # none: English (an email to staff)


_KINDS = "portal.mail.kinds"


def register(
    app: Flask,
    template: str,
    *,
    subject: str,
    builder: ContextBuilder,
    merger: PayloadMerger | None = None,
    log_line: LogLine | None = None,
    language: LanguageOf | None = None,
) -> None:
    """Make `template` a kind of email this app sends. `language` gives the language of the
    person an email goes to, from its payload: an email to a parent or carer needs one;
    without it, the email is English (staff)."""
    kinds: dict[str, EmailKind] = app.extensions.setdefault(_KINDS, {})
    kinds[template] = EmailKind(template, subject, builder, merger, log_line, language)


def kind(template: str) -> EmailKind | None:
    """The registered kind of email for `template` in the current app, or None."""
    kinds: dict[str, EmailKind] = current_app.extensions.get(_KINDS, {})
    return kinds.get(template)


def merger(template: str) -> PayloadMerger | None:
    """How several payloads of `template` become one email, if they may be coalesced."""
    found = kind(template)
    return found.merger if found else None


def render(
    template: str, payload: dict[str, Any], *, now: datetime | None = None
) -> Rendered | str:
    """The email for an outbox row, in the language of the person it goes to, or a reason
    not to send it."""
    found = kind(template)
    if found is None:
        return f"unknown email template {template!r}"
    tag = found.language(payload) if found.language else None
    with in_language(tag) as language:
        context, reason = found.builder(payload, now or utcnow())
        if context is None:
            return reason
        # A subject is one line whatever the context holds (a title or a name with a line
        # break in it): folded here, so a header can never be split or injected.
        subject = " ".join(found.subject.format(**context).split())
        lang = html_lang(language)
        text = render_template(f"emails/{template}.txt", **context)
        html = render_template(
            f"emails/{template}.html",
            **{**context, "subject": subject, "email_lang": lang, "email_dir": language.direction},
        )
        log_line = found.log_line(context) if found.log_line else None
    return Rendered(subject, text, html, log_line, lang)


def html_lang(language: languages.Language) -> str:
    """The tag a message and its HTML say they are written in: British English is en-GB,
    as the pages say."""
    return "en-GB" if language is languages.ENGLISH else language.tag


def to_email(rendered: Rendered, *, to_address: str, message_id: int) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = to_address
    message["Date"] = formatdate(localtime=False)
    domain = str(current_app.config["MAIL_DEFAULT_SENDER"]).rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"outbox-{message_id}", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    # After the parts are made: making them moves every Content- header into the first part.
    message["Content-Language"] = rendered.language
    return message
