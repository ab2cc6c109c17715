"""Roster import from the web, for admins: upload the CSV, see a preview, confirm.

The preview is the import itself, stopped before it writes (`roster.preview_roster`); the
confirm runs the same import for real (`roster.import_by_staff`, with its audit entry), so the
web and `flask roster import` follow the very same rules. The pages show the counts and the
first rows of each kind (`SHOWN_ROWS`), never every row: a file of thousands of rows makes a
page of the same size as one of ten.

Between preview and confirm the file travels in the confirm form: its text, its name and
the options, signed with the secret key (itsdangerous, HMAC-SHA256, compressed) together with
the school's id and a time stamp. The confirm imports exactly what was previewed; a payload
that was changed, that belongs to another school, or that is older than an hour is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput, GovFileInput, GovSubmitInput
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField, SubmitField
from wtforms.validators import InputRequired

from .. import roster
from ..web.access import fresh_second_factor, staff_required
from ..web.forms import PortalForm
from ..web.hypermedia import whole_page
from ..web.incoming import accepts_large_body
from . import bp
from .nav import ADMIN, current_school, current_school_id, current_staff

# Our own limit, below MAX_CONTENT_LENGTH, so that a large file gets a clear message beside
# the field (the signed copy in the confirm form is compressed, so it stays well within).
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
MAX_UPLOAD_WORDS = "4 MB"
PREVIEW_MAX_AGE = 60 * 60  # seconds a preview can be confirmed for
SALT = "staff.roster-preview"
SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")
# Zip (xlsx, ods, numbers) and OLE2 (xls) containers: spreadsheets, not text.
BINARY_STARTS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
SAVE_AS_CSV = "In your spreadsheet program, choose Save As, then the type 'CSV UTF-8'."
# What to do about a file larger than the web takes: over MAX_UPLOAD_BYTES (the message
# beside the field), or over MAX_CONTENT_LENGTH (the 413 page, which says the limit too).
TOO_LARGE = (
    "Export only the columns the portal needs, or ask your administrator to import the file "
    "with the command `flask roster import FILE --school SLUG`, which takes larger files."
)
SHOWN_ROWS = roster.KEPT  # rows of each kind a page lists (rejected, to create, ...)
UPLOAD_PAGE = "staff/roster/upload.html"
PREVIEW_PAGE = "staff/roster/preview.html"
REPORT_PAGE = "staff/roster/report.html"


class RosterUploadForm(PortalForm):
    """The file is checked by the view (size, encoding, CSV) as it reads it."""

    file = FileField(
        "Roster file (CSV)",
        widget=GovFileInput(),
        description="A CSV export from your MIS, with one row per pupil and contact.",
    )
    # Off unless ticked; the hint beside it is in the template (staff/roster/upload.html).
    mark_missing_as_left = BooleanField(
        "Mark pupils who are not in this file as having left the school",
        widget=GovCheckboxInput(),
    )
    submit = SubmitField("Preview the import", widget=GovSubmitInput())


class RosterConfirmForm(PortalForm):
    """The previewed file travels back signed (`seal`, `unseal`)."""

    payload = HiddenField(validators=[InputRequired()])
    submit = SubmitField("Import", widget=GovSubmitInput())


class UploadProblem(Exception):
    """Why an uploaded file cannot be read as a roster, in words for the admin."""


@dataclass(frozen=True)
class Sealed:
    """What the preview saw, as the confirm form carries it back."""

    text: str
    filename: str
    mark_missing_as_left: bool


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"],
        salt=SALT,
        signer_kwargs={"digest_method": hashlib.sha256},
    )


def seal(school_id: int, preview: Sealed) -> str:
    return str(
        _serializer().dumps(
            {
                "school_id": school_id,
                "text": preview.text,
                "filename": preview.filename,
                "mark_missing_as_left": preview.mark_missing_as_left,
            }
        )
    )


def unseal(value: str, school_id: int) -> Sealed:
    """The previewed file, if `value` is intact, recent and of this school."""
    try:
        data: Any = _serializer().loads(value, max_age=PREVIEW_MAX_AGE)
    except SignatureExpired:
        raise UploadProblem(
            "The preview is more than an hour old. Upload the file again to see what it "
            "would change now."
        ) from None
    except BadSignature:
        data = None
    if (
        not isinstance(data, dict)
        or data.get("school_id") != school_id
        or not isinstance(data.get("text"), str)
        or not isinstance(data.get("filename"), str)
        or not isinstance(data.get("mark_missing_as_left"), bool)
    ):
        raise UploadProblem(
            "The previewed file could not be checked, so nothing was imported. "
            "Upload the file again."
        )
    return Sealed(data["text"], data["filename"], data["mark_missing_as_left"])


def read_upload(storage: FileStorage | None) -> tuple[str, str]:
    """The text and name of an uploaded roster file; UploadProblem says what is wrong."""
    if storage is None or not storage.filename:
        raise UploadProblem("Choose a CSV file to upload")
    filename = storage.filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or "the file"
    data = storage.stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadProblem(f"The file is larger than {MAX_UPLOAD_WORDS}. {TOO_LARGE}")
    if not data.strip():
        raise UploadProblem("The file is empty")
    if filename.lower().endswith(SPREADSHEETS) or data.startswith(BINARY_STARTS):
        raise UploadProblem(f"{filename} is a spreadsheet, not a CSV file. {SAVE_AS_CSV}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadProblem(
            f"{filename} is not a UTF-8 CSV file, so names with accents would be garbled. "
            f"{SAVE_AS_CSV}"
        ) from None
    if "\x00" in text:
        raise UploadProblem(f"{filename} is not a CSV file. {SAVE_AS_CSV}")
    return text, filename


def _payload_limit() -> int:
    """The largest signed payload the confirm form can post back."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 16 * 1024 * 1024
    return int(limit) - 64 * 1024


def _upload_page(form: RosterUploadForm, status: int = 200) -> Response:
    return whole_page(UPLOAD_PAGE, status=status, form=form, limit=MAX_UPLOAD_WORDS)


@bp.get("/roster", endpoint="roster")
@staff_required(ADMIN)
@fresh_second_factor(back="staff.roster")
def upload_page() -> Response:
    return _upload_page(RosterUploadForm())


@bp.post("/roster/preview")
@accepts_large_body(too_large=TOO_LARGE)
@staff_required(ADMIN)
@fresh_second_factor(back="staff.roster")
def preview_roster() -> Response:
    form = RosterUploadForm()
    if not form.validate_on_submit():
        return _upload_page(form, 400)
    mark_missing_as_left = bool(form.mark_missing_as_left.data)
    try:
        text, filename = read_upload(form.file.data)
    except UploadProblem as problem:
        form.file.errors = [str(problem)]
        return _upload_page(form, 400)
    try:
        report = roster.preview_roster(
            current_school(), text, mark_missing_as_left=mark_missing_as_left
        )
    except roster.RosterFileError as problem:
        form.file.errors = [f"{filename} cannot be imported: {problem}"]
        return _upload_page(form, 400)
    confirm = RosterConfirmForm()
    confirm.payload.data = seal(current_school_id(), Sealed(text, filename, mark_missing_as_left))
    if len(confirm.payload.data) > _payload_limit():
        # The confirm form could not carry it back (it compresses rarely this badly).
        form.file.errors = [f"{filename} is too large to import from the web. {TOO_LARGE}"]
        return _upload_page(form, 400)
    return whole_page(
        PREVIEW_PAGE,
        report=report,
        filename=filename,
        mark_missing_as_left=mark_missing_as_left,
        form=confirm,
        shown=SHOWN_ROWS,
    )


@bp.post("/roster/import")
@accepts_large_body(too_large=TOO_LARGE)
@staff_required(ADMIN)
@fresh_second_factor(back="staff.roster")
def import_roster() -> Response:
    form = RosterConfirmForm()
    upload = RosterUploadForm(formdata=None)
    if not form.validate_on_submit():
        upload.file.errors = ["Upload the file and preview it before importing it"]
        return _upload_page(upload, 400)
    try:
        sealed = unseal(form.payload.data or "", current_school_id())
    except UploadProblem as problem:
        upload.file.errors = [str(problem)]
        return _upload_page(upload, 400)
    try:
        report = roster.import_by_staff(
            current_staff(),
            sealed.text,
            filename=sealed.filename,
            mark_missing_as_left=sealed.mark_missing_as_left,
        )
    except roster.RosterFileError as problem:
        upload.file.errors = [f"{sealed.filename} cannot be imported: {problem}"]
        return _upload_page(upload, 400)
    return whole_page(
        REPORT_PAGE,
        report=report,
        filename=sealed.filename,
        mark_missing_as_left=sealed.mark_missing_as_left,
        shown=SHOWN_ROWS,
    )
