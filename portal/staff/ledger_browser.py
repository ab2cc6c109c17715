"""The ledger browser (admins): the school's events filtered and paged, the chain head,
"verify now", and the filtered events as a streamed CSV.

The filter is a GET form (no CSRF: it changes nothing): a plain request gets the whole page,
the form's own htmx request gets just the results (and pushes the URL, so the address bar
and the back button keep the filter). "Find a reference" is a GET form too (`?reference=`):
the whole page, with the event a family's reference names, or why there is none. Verify
now and the export are POSTs: each writes an audit entry. The export posts the same filter
(`LedgerExportForm`, with a CSRF token); "verify now" is a button with nothing to parse,
whose POST needs only the CSRF token, which CSRFProtect checks for every POST.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask import get_flashed_messages, request, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import DateField, Field, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from .. import ledger_browser
from ..csv_files import filename
from ..ledger_browser import EventFilter, Options
from ..models import Channel, Decision
from ..web.access import fresh_second_factor, staff_required
from ..web.forms import PortalForm, optional_id, strip
from ..web.hypermedia import page_or_fragment, saved, wants_fragment, whole_page
from ..web.incoming import MAX_ID, parse_id
from ..web.responses import csv_response
from . import bp
from .nav import ADMIN, current_school, current_staff

PAGE = "staff/ledger_browser/ledger.html"
RESULTS = "staff/ledger_browser/_partials/results.html"
VERIFY = "staff/ledger_browser/_partials/verify.html"
VERIFIED = "ledger-verified"  # the flash category: the page then says "checked just now"

# --- the filter ----------------------------------------------------------------------------

DECISION_CHOICES = [
    SelectChoice("", "Any decision"),
    SelectChoice(Decision.GRANT.value, "Yes (consent given)"),
    SelectChoice(Decision.WITHDRAW.value, "No (consent refused or withdrawn)"),
    SelectChoice(Decision.OBJECT.value, "Objected"),
    SelectChoice(Decision.LIFT_OBJECTION.value, "Objection withdrawn"),
    SelectChoice(Decision.UPHELD.value, "Objection upheld"),
    SelectChoice(Decision.NOT_UPHELD.value, "Objection not upheld"),
]
CHANNEL_CHOICES = [
    SelectChoice("", "Any channel"),
    SelectChoice(Channel.WEB.value, "Online"),
    SelectChoice(Channel.PAPER.value, "Paper form"),
    SelectChoice(Channel.PHONE.value, "Phone call"),
    SelectChoice(Channel.EMAIL.value, "Email"),
]
DAY_FIRST = re.compile(r"^(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})$")


class UKDateField(DateField):
    """A date from `<input type="date">` (2025-10-06), or typed by hand where the browser
    shows a plain text box (6/10/2025)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = " ".join(valuelist).strip() if valuelist else ""
        if not text:
            self.data = None
            return
        try:
            self.data = date.fromisoformat(text)
            return
        except ValueError:
            pass
        match = DAY_FIRST.match(text)
        try:
            if match is None:
                raise ValueError(text)
            day, month, year = (int(part) for part in match.groups())
            self.data = date(year, month, day)
        except ValueError as exc:
            self.data = None
            raise ValueError(f"{self.label.text} must be a real date, like 6/10/2025") from exc


def _in_choices(message: str) -> Any:
    def check(form: FlaskForm, field: Field) -> None:
        if field.data and field.data not in {c.value for c in field.choices or []}:
            raise ValidationError(message)

    return check


class LedgerFilterForm(PortalForm):
    """The ledger browser's filter, read from the query string."""

    class Meta:
        csrf = False

    date_from = UKDateField("From", validators=[Optional()])
    date_to = UKDateField("To", validators=[Optional()])
    class_name = SelectField(
        "Class",
        choices=[],
        validate_choice=False,
        validators=[_in_choices("Choose a class from the list")],
    )
    pupil = StringField(
        "Pupil",
        filters=[strip],
        validators=[Length(max=100, message="Pupil must be 100 characters or fewer")],
    )
    pupil_id = IntegerField(
        widget=HiddenInput(),
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_ID, message="Choose a pupil from the list"),
        ],
    )
    # A purpose id of another school is not "not on the list" but not found (404): the
    # domain answers that, so only the shape of the value is checked here.
    purpose = SelectField(
        "Purpose",
        choices=[],
        validate_choice=False,
        validators=[optional_id("Choose a purpose from the list")],
    )
    decision = SelectField(
        "Decision",
        choices=DECISION_CHOICES,
        validate_choice=False,
        validators=[_in_choices("Choose a decision from the list")],
    )
    channel = SelectField(
        "Channel",
        choices=CHANNEL_CHOICES,
        validate_choice=False,
        validators=[_in_choices("Choose a channel from the list")],
    )

    FILTER_FIELDS = (
        "date_from", "date_to", "class_name", "pupil", "pupil_id", "purpose", "decision",
        "channel",
    )  # fmt: skip

    def offer(self, options: Options) -> LedgerFilterForm:
        """Fill the class and purpose lists with this school's."""
        self.class_name.choices = [SelectChoice("", "Any class")] + [
            SelectChoice(c, c) for c in options.classes
        ]
        self.purpose.choices = [SelectChoice("", "Any purpose")] + [
            SelectChoice(str(pid), title) for pid, title in options.purposes
        ]
        return self

    def validate_date_to(self, field: UKDateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("To must be the same as or after From")

    def to_filter(self) -> EventFilter:
        return EventFilter(
            date_from=self.date_from.data,
            date_to=self.date_to.data,
            class_name=self.class_name.data or None,
            pupil=self.pupil.data or None,
            pupil_id=self.pupil_id.data,
            purpose_id=parse_id(self.purpose.data),
            decision=self.decision.data or None,
            channel=self.channel.data or None,
        )

    def query_args(self) -> dict[str, str]:
        """The filter as it came in (non-empty values only), for page links and the export
        form's hidden fields."""
        args: dict[str, str] = {}
        for name in self.FILTER_FIELDS:
            field = self[name]
            raw = field.raw_data[0] if field.raw_data else ""
            if isinstance(raw, str) and raw.strip():
                args[name] = raw.strip()
        return args


class LedgerExportForm(LedgerFilterForm):
    """The same filter, posted (with a CSRF token) to download the matching events."""

    class Meta:
        csrf = True


# --- the views -----------------------------------------------------------------------------


def _live(results: ledger_browser.EventPage | None) -> str | None:
    if results is None:
        return None
    count = results.total
    return f"{count:,} event matches" if count == 1 else f"{count:,} events match"


def _results(form: LedgerFilterForm) -> dict[str, Any]:
    """The region of results: the page of events the filter asks for (none while the filter
    has errors), and the filter as query arguments for its links and the export form."""
    results = None
    if not form.errors:
        results = ledger_browser.page(
            current_school().id,
            form.to_filter(),
            before=request.args.get("before", type=int),
            after=request.args.get("after", type=int),
        )
    return {"form": form, "results": results, "filter_args": form.query_args(),
            "live": _live(results)}  # fmt: skip


def _head_and_check() -> dict[str, Any]:
    """What only the whole page shows: the chain head and the latest check."""
    school = current_school()
    return {
        "head": ledger_browser.head(school),
        "checkpoint": ledger_browser.latest_checkpoint(school),
        "check": ledger_browser.last_check(school.id),
        "just_checked": bool(get_flashed_messages(category_filter=[VERIFIED])),
    }


def _address(filter_args: dict[str, str]) -> str:
    """The address to push for the results: the filter as given, without the form's empty
    fields, and the page."""
    shown: dict[str, Any] = {**filter_args}
    shown.update((k, v) for k in ("before", "after") if (v := request.args.get(k)))
    return url_for("staff.ledger", **shown)


def _lookup() -> ledger_browser.Lookup | None:
    """ "Find a reference" (`?reference=RP-1042-7F3A`): the event it names in this school's
    ledger, or why there is none; None when nothing was asked."""
    typed = request.args.get("reference")
    if typed is None:
        return None
    return ledger_browser.find_reference(current_school(), typed)


@bp.get("/ledger")
@staff_required(ADMIN)
def ledger() -> Response:
    options = ledger_browser.options(current_school().id)
    form = LedgerFilterForm(formdata=request.args).offer(options)
    status = 200 if form.validate() else 400
    context = _results(form)
    if wants_fragment():
        headers = {"HX-Push-Url": _address(context["filter_args"])}
        return page_or_fragment(PAGE, RESULTS, status=status, headers=headers, **context)
    lookup = _lookup()
    if lookup is not None and lookup.malformed:
        status = 400
    return page_or_fragment(
        PAGE, RESULTS, status=status, lookup=lookup, **context, **_head_and_check()
    )


@bp.post("/ledger/verify")
@staff_required(ADMIN)
def verify_ledger() -> Response:
    check = ledger_browser.verify_now(current_staff())
    return saved(
        "The ledger checks out." if check.ok else "The ledger is broken.",
        fragment=VERIFY,
        redirect_to=url_for("staff.ledger", _anchor="verify"),
        category=VERIFIED,
        trigger=None,  # no consent changed
        check=check,
        just_checked=True,
    )


@bp.post("/ledger/export")
@staff_required(ADMIN)
@fresh_second_factor(back="staff.ledger")
def export_ledger() -> Response:
    school = current_school()
    form = LedgerExportForm().offer(ledger_browser.options(school.id))
    if not form.validate_on_submit():
        return whole_page(PAGE, status=400, **_results(form), **_head_and_check())
    wanted = form.to_filter()
    up_to = ledger_browser.start_ledger_export(current_staff(), wanted)  # NotFound: not ours
    return csv_response(
        ledger_browser.ledger_csv(school.id, wanted, up_to_seq=up_to),
        filename("ledger", school.slug),
    )
