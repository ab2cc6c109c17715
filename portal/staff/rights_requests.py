"""Rights requests (admins only): the open requests with days left, logging one that came by
letter, phone, email or in person, one request with its whole history and the actions on it,
and the family's file for an access request.

Each action is a POST that redirects back to the request with a confirmation; htmx sends the
same forms and gets the request's region back (`saved`). A refused action shows the region
again with the reason, at the top and beside the field, and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import flash, make_response, redirect, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from .. import rights_requests
from ..types import utcnow
from ..web.access import staff_required
from ..web.hypermedia import confirmation, page_or_fragment, saved, whole_page
from . import bp
from .nav import ADMIN, current_school_id, current_staff
from .rights_requests_forms import (
    AnswerForm,
    EmptyForm,
    ExtendForm,
    LogForm,
    PauseForm,
    RefuseForm,
    WithdrawForm,
)

LIST_PAGE = "staff/rights_requests/requests.html"
NEW_PAGE = "staff/rights_requests/new.html"
PAGE = "staff/rights_requests/request.html"
REGION = "staff/rights_requests/_partials/request.html"
FILE_PAGE = "staff/rights_requests/family_file.html"
SAVED_CATEGORY = "rights-requests"

CHANNELS = [
    ("letter", "Letter", ""),
    ("email", "Email", ""),
    ("phone", "Phone", ""),
    ("in_person", "In person", ""),
]
PAUSE_OPTIONS = [(key, words, "") for key, words in rights_requests.PAUSE_REASONS.items()]
# The domain names a field by its own name; the forms of one page need unique ids.
FIELDS = {"pause": {"reason": "pause_reason"}, "extend": {"reason": "extend_reason"}}


def _today() -> Any:
    return rights_requests.today_in_london(utcnow())


def kind_options() -> list[tuple[str, str, str]]:
    return [
        (kind, rights_requests.KIND_NAMES[kind], rights_requests.KIND_WORDS[kind])
        for kind in rights_requests.KINDS
    ]


@bp.get("/rights-requests", endpoint="rights_requests")
@staff_required(ADMIN)
def requests_page() -> Response:
    school_id = current_school_id()
    return whole_page(
        LIST_PAGE,
        open_requests=rights_requests.open_requests(school_id),
        closed=rights_requests.closed_requests(school_id),
        today=_today(),
        saved=confirmation(SAVED_CATEGORY),
    )


def _new_page(form: LogForm, errors: dict[str, str], status: int = 200) -> Response:
    return whole_page(
        NEW_PAGE,
        status=status,
        form=form,
        errors=errors,
        error_links=[(f"#{name}", message) for name, message in errors.items()],
        kinds=kind_options(),
        channels=CHANNELS,
        today=_today(),
    )


@bp.get("/rights-requests/new", endpoint="new_rights_request")
@staff_required(ADMIN)
def new_request() -> Response:
    return _new_page(LogForm(formdata=None), {})


@bp.post("/rights-requests", endpoint="log_rights_request")
@staff_required(ADMIN)
def log_request() -> Response:
    form = LogForm()
    if not form.validate_on_submit():
        errors = {name: messages[0] for name, messages in form.errors.items() if messages}
        return _new_page(form, errors, status=400)
    try:
        logged = rights_requests.log(
            current_staff().id,
            received_on=form.received_on.data,
            channel=form.channel.data or "",
            requester_name=form.requester_name.data or "",
            requester_contact=form.requester_contact.data or "",
            guardian_email=form.guardian_email.data or "",
            kind=form.kind.data or "",
            details=form.details.data or "",
        )
    except rights_requests.RightsRequestError as refused:
        return _new_page(form, {refused.field or "kind": str(refused)}, status=400)
    due = rights_requests.day_words(logged.due_on)
    flash(
        f"Logged {rights_requests.reference(logged.id)}: it must be answered by {due}.",
        SAVED_CATEGORY,
    )
    return redirect(url_for(".rights_request", request_id=logged.id))


def _context(request_id: int, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "request": rights_requests.get(current_school_id(), request_id),
        "today": _today(),
        "kinds": kind_options(),
        "pause_options": PAUSE_OPTIONS,
        "action": None,
        "errors": {},
        "error_links": [],
        "forms": {},
    }
    context.update(extra)
    return context


@bp.get("/rights-requests/<int:request_id>", endpoint="rights_request")
@staff_required(ADMIN)
def request_page(request_id: int) -> Response:
    return page_or_fragment(
        PAGE, REGION, **_context(request_id, saved=confirmation(SAVED_CATEGORY))
    )


def _act(
    request_id: int,
    action: str,
    form: FlaskForm,
    do: Callable[[int, int], Any],
    message: str,
) -> Response:
    """Run one action on the request (404 first for another school's), answering as every
    action does: the region again with the confirmation, or with the reason it was refused."""
    rights_requests.get(current_school_id(), request_id)  # 404 for another school's
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            do(current_staff().id, request_id)
        except rights_requests.RightsRequestError as refused:
            field = FIELDS.get(action, {}).get(refused.field or "", refused.field) or action
            errors[field] = str(refused)
        else:
            return saved(
                message,
                fragment=REGION,
                redirect_to=url_for(".rights_request", request_id=request_id),
                category=SAVED_CATEGORY,
                trigger=None,
                fragment_context=lambda: _context(request_id),
            )
    else:
        errors = {name: messages[0] for name, messages in form.errors.items() if messages}
    context = _context(
        request_id,
        saved=None,
        action=action,
        errors=errors,
        error_links=[(f"#{name}", text) for name, text in errors.items()],
        forms={action: form},
    )
    return page_or_fragment(PAGE, REGION, status=400, **context)


@bp.post("/rights-requests/<int:request_id>/pause", endpoint="pause_rights_request")
@staff_required(ADMIN)
def pause(request_id: int) -> Response:
    form = PauseForm()
    return _act(
        request_id, "pause", form,
        lambda staff, rid: rights_requests.pause(staff, rid, reason=form.pause_reason.data or ""),
        "The clock is stopped. Restart it when you hear back.",
    )  # fmt: skip


@bp.post("/rights-requests/<int:request_id>/resume", endpoint="resume_rights_request")
@staff_required(ADMIN)
def resume(request_id: int) -> Response:
    return _act(
        request_id, "resume", EmptyForm(),
        lambda staff, rid: rights_requests.resume(staff, rid),
        "The clock is running again; the days it was stopped are added to the due date.",
    )  # fmt: skip


def _months(value: str | None) -> int:
    return int(value) if value in {"1", "2"} else 0


@bp.post("/rights-requests/<int:request_id>/extend", endpoint="extend_rights_request")
@staff_required(ADMIN)
def extend(request_id: int) -> Response:
    form = ExtendForm()
    return _act(
        request_id, "extend", form,
        lambda staff, rid: rights_requests.extend(
            staff, rid, months=_months(form.months.data), reason=form.extend_reason.data or "",
            told_on=form.told_on.data,
        ),
        "Extended. The new due date is shown.",
    )  # fmt: skip


@bp.post("/rights-requests/<int:request_id>/answer", endpoint="answer_rights_request")
@staff_required(ADMIN)
def answer(request_id: int) -> Response:
    form = AnswerForm()
    return _act(
        request_id, "answer", form,
        lambda staff, rid: rights_requests.answer(staff, rid, outcome=form.outcome.data or ""),
        "Marked as answered.",
    )  # fmt: skip


@bp.post("/rights-requests/<int:request_id>/refuse", endpoint="refuse_rights_request")
@staff_required(ADMIN)
def refuse(request_id: int) -> Response:
    form = RefuseForm()
    return _act(
        request_id, "refuse", form,
        lambda staff, rid: rights_requests.refuse(staff, rid, reasons=form.reasons.data or ""),
        "Marked as refused.",
    )  # fmt: skip


@bp.post("/rights-requests/<int:request_id>/withdraw", endpoint="withdraw_rights_request")
@staff_required(ADMIN)
def withdraw(request_id: int) -> Response:
    form = WithdrawForm()
    return _act(
        request_id, "withdraw", form,
        lambda staff, rid: rights_requests.withdraw(staff, rid, note=form.note.data or ""),
        "Marked as withdrawn.",
    )  # fmt: skip


def _file(request_id: int, as_format: str) -> rights_requests.FamilyFile | Response:
    rights_requests.get(current_school_id(), request_id)  # 404 for another school's
    try:
        return rights_requests.build_family_file(
            current_staff().id, request_id, as_format=as_format
        )
    except rights_requests.RightsRequestError as refused:
        context = _context(
            request_id, saved=None, action="file", errors={"file": str(refused)},
            error_links=[("#file", str(refused))],
        )  # fmt: skip
        return whole_page(PAGE, status=400, **context)


@bp.post("/rights-requests/<int:request_id>/family-file", endpoint="rights_request_file")
@staff_required(ADMIN)
def family_file(request_id: int) -> Response:
    built = _file(request_id, "page")
    if isinstance(built, Response):
        return built
    return whole_page(
        FILE_PAGE, file=built, request=rights_requests.get(current_school_id(), request_id)
    )


@bp.post(
    "/rights-requests/<int:request_id>/family-file/download",
    endpoint="rights_request_file_download",
)
@staff_required(ADMIN)
def family_file_download(request_id: int) -> Response:
    built = _file(request_id, "json")
    if isinstance(built, Response):
        return built
    body = json.dumps(built.as_json(), indent=2, ensure_ascii=False)
    response = make_response(body)
    response.mimetype = "application/json"
    name = f"family-file-{rights_requests.reference(request_id)}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
