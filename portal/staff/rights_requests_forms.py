"""The forms of the staff's rights request pages: logging a request that came another way, and
the actions on one. They trim what was typed and read dates; the rules (which kinds, how old a
date may be, when an extension is too late) are the domain's (`portal.rights_requests`)."""

from __future__ import annotations

from wtforms import StringField, TextAreaField

from ..web.forms import PortalForm, strip
from .ledger_browser import UKDateField


class LogForm(PortalForm):
    received_on = UKDateField("Date received")
    channel = StringField(filters=[strip])
    requester_name = StringField(filters=[strip])
    requester_contact = StringField(filters=[strip])
    guardian_email = StringField(filters=[strip])
    kind = StringField(filters=[strip])
    details = TextAreaField(filters=[strip])


class PauseForm(PortalForm):
    pause_reason = StringField(filters=[strip])


class ExtendForm(PortalForm):
    months = StringField(filters=[strip])
    extend_reason = TextAreaField(filters=[strip])
    told_on = UKDateField("Date you told them")


class AnswerForm(PortalForm):
    outcome = TextAreaField(filters=[strip])


class RefuseForm(PortalForm):
    reasons = TextAreaField(filters=[strip])


class WithdrawForm(PortalForm):
    note = TextAreaField(filters=[strip])


class EmptyForm(PortalForm):
    """An action with nothing to parse (restart the clock, build the file): the CSRF token."""
