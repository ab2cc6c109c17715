"""Signing in by the emailed link or code, choosing which account to act as, signing out.

Thin views over `portal.signin` (docs/security.md, promises 1–9): the answer to asking for a
link is the same whether the address is known; opening a link only shows a button, so a mail
scanner that opens it changes nothing; every sign-in starts a new server-side session.
"""

from __future__ import annotations

import hashlib

from flask import Response, current_app, redirect, render_template, request, session, url_for
from flask_babel import LazyString
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from .. import emails, signin
from ..extensions import limiter, login_manager
from ..mail.delivery import deliver_after_response
from ..models import PrincipalType, Role
from ..web.hypermedia import whole_page
from ..web.incoming import opaque_path
from ..web.language import page_language
from . import bp
from .signin_forms import (
    ChooseForm,
    CodeForm,
    ContinueForm,
    NewLinkForm,
    SignInForm,
    SignOutForm,
)

SIGN_IN_PAGE = "auth/signin/sign_in.html"
CHECK_EMAIL_PAGE = "auth/signin/check_email.html"
CONTINUE_PAGE = "auth/signin/continue.html"
LINK_PROBLEM_PAGE = "auth/signin/link_problem.html"
CHOOSE_PAGE = "auth/signin/choose.html"
SIGNED_OUT_PAGE = "auth/signin/signed_out.html"

PENDING = "sign_in_request"
CHOICE = "sign_in_choice"  # the id of a choice held on the server (signin.offer_choice)
PROBLEMS = {
    signin.LinkState.EXPIRED: _l("This sign-in link has expired"),
    signin.LinkState.USED: _l("This sign-in link has already been used"),
    signin.LinkState.SUPERSEDED: _l("A newer sign-in link has been sent"),
    signin.LinkState.UNKNOWN: _l("This sign-in link does not work"),
    signin.LinkState.TOO_MANY_ATTEMPTS: _l("This sign-in link does not work any more"),
}
# An invitation's link that no longer signs in (docs/security.md, promise 22).
INVITATION_PROBLEMS = {
    signin.LinkState.EXPIRED: _l("This invitation link has expired"),
    signin.LinkState.USED: _l("This invitation link has already been used"),
    signin.LinkState.SUPERSEDED: _l("A newer sign-in link has been sent"),
}
WRONG_CODE = _l(
    "The code is not right, or it has stopped working. Check the latest email "
    "or ask for a new link."
)
TOO_MANY_CODES = _l("Too many wrong codes. Ask for a new link.")
# How the choosing page names a staff account, by its role.
STAFF_LABELS: dict[str, LazyString] = {
    Role.ADMIN: _l("Staff at %(school)s (admin)"),
    Role.STAFF: _l("Staff at %(school)s (staff)"),
    Role.MARKETING: _l("Staff at %(school)s (marketing)"),
}


# --- who is signed in ----------------------------------------------------------------------

login_manager.login_view = "auth.sign_in"
login_manager.login_message = None  # type: ignore[assignment]
login_manager.session_protection = None  # sessions are checked on the server instead


@login_manager.user_loader
def load_user(session_token: str) -> signin.SignedIn | None:
    return signin.load_session(session_token)


@login_manager.unauthorized_handler
def unauthorized() -> BaseResponse:
    target = url_for("auth.sign_in")
    if request.headers.get("HX-Request") == "true":
        # htmx cannot follow a redirect to another page in place: send the browser there.
        response = Response(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _home_for(user: signin.SignedIn) -> str:
    return url_for("staff.home") if user.is_staff else url_for("parent.home")


# --- asking for a link, and the code -------------------------------------------------------


def _client_key() -> str:
    return "client:" + (get_remote_address() or "unknown")


def _address_key() -> str:
    value = (request.form.get("email") or "").strip()
    try:
        value = emails.normalise(value)
    except emails.InvalidEmail:
        value = value.lower()
    return "address:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


@bp.get("/sign-in")
def sign_in() -> str | BaseResponse:
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    return render_template(SIGN_IN_PAGE, form=SignInForm())


def _invitation_address_key() -> str:
    """The address an invitation's link was sent to, keyed as `_address_key` keys it, so
    that emails asked for from an invitation count with those asked for on the sign-in page;
    a token that is no invitation's, by the token."""
    token = str((request.view_args or {}).get("token", ""))
    address = signin.address_of(token)
    if address is None:
        return "token:" + hashlib.sha256(token.encode("utf-8")).hexdigest()
    return "address:" + hashlib.sha256(address.encode("utf-8")).hexdigest()


# Links asked for by one address are counted together, on the sign-in page and from an
# invitation (`new_link_from_invitation`).
ADDRESS_SCOPE = "sign-in-address"


@bp.post("/sign-in")
@limiter.limit(lambda: current_app.config["SIGN_IN_LIMIT_PER_CLIENT"], key_func=_client_key)
@limiter.shared_limit(
    lambda: current_app.config["SIGN_IN_LIMIT_PER_ADDRESS"], ADDRESS_SCOPE, key_func=_address_key
)
def ask_for_link() -> BaseResponse:
    form = SignInForm()
    if not form.validate_on_submit():
        return whole_page(SIGN_IN_PAGE, status=400, form=form)
    # The email is in this page's language, unless the person chose another one.
    outcome = signin.accept_request(form.email.data or "", language=page_language().tag)
    session[PENDING] = outcome.public_id
    response = redirect(url_for("auth.check_email"))
    return deliver_after_response(response, outcome.outbox_ids)


@bp.get("/sign-in/check-your-email")
def check_email() -> str | BaseResponse:
    if PENDING not in session:
        return redirect(url_for("auth.sign_in"))
    return render_template(CHECK_EMAIL_PAGE, form=CodeForm())


@bp.post("/sign-in/code")
@limiter.limit(lambda: current_app.config["SIGN_IN_CODE_LIMIT_PER_CLIENT"], key_func=_client_key)
def enter_code() -> BaseResponse:
    form = CodeForm()
    if form.validate_on_submit():
        try:
            principals = signin.use_code(session.get(PENDING), form.code.data or "")
        except signin.SignInError as exc:
            too_many = exc.state == signin.LinkState.TOO_MANY_ATTEMPTS
            form.code.errors = [TOO_MANY_CODES if too_many else WRONG_CODE]
        else:
            return _complete(principals)
    return whole_page(CHECK_EMAIL_PAGE, status=400, form=form)


# --- the link ------------------------------------------------------------------------------


def _link_problem(
    state: signin.LinkState,
    token: str,
    opened: signin.OpenedLink,
    form: NewLinkForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """Why a link does not sign in. An invitation's link that can still ask for a fresh
    sign-in email offers it, with one press (docs/security.md, promise 22)."""
    title = PROBLEMS[state]
    if opened.invitation and state in INVITATION_PROBLEMS:
        title = INVITATION_PROBLEMS[state]
    page = render_template(
        LINK_PROBLEM_PAGE,
        title=title,
        state=state,
        invitation=opened.invitation,
        renewable=opened.renewable,
        form=(form or NewLinkForm()) if opened.renewable else None,
        token=token if opened.renewable else None,
        invitation_hours=signin.signs_in_hours(),
        invitation_days=signin.renewable_days(),
    )
    return page, status


@bp.route("/sign-in/link/<string:token>", methods=["GET", "HEAD"])
@opaque_path
def open_link(token: str) -> str | tuple[str, int]:
    """A link opens a page with a button: opening it (as mail scanners do) changes nothing."""
    opened = signin.look_at(token)
    if opened.state != signin.LinkState.VALID:
        return _link_problem(opened.state, token, opened)
    return render_template(
        CONTINUE_PAGE, form=ContinueForm(), token=token, invitation=opened.invitation
    )


@bp.post("/sign-in/link/<string:token>")
@opaque_path
def use_link(token: str) -> str | tuple[str, int] | BaseResponse:
    form = ContinueForm()
    if not form.validate_on_submit():
        invitation = signin.look_at(token).invitation
        return render_template(CONTINUE_PAGE, form=form, token=token, invitation=invitation)
    try:
        principals = signin.use_link(token)
    except signin.SignInError as exc:
        return _link_problem(exc.state, token, signin.look_at(token))
    return _complete(principals)


@bp.post("/sign-in/link/<string:token>/new-link")
@opaque_path
@limiter.limit(lambda: current_app.config["SIGN_IN_LIMIT_PER_CLIENT"], key_func=_client_key)
@limiter.shared_limit(
    lambda: current_app.config["SIGN_IN_LIMIT_PER_ADDRESS"],
    ADDRESS_SCOPE,
    key_func=_invitation_address_key,
)
def new_link_from_invitation(token: str) -> tuple[str, int] | BaseResponse:
    """An invitation's link that no longer signs in: email a fresh sign-in link to the
    address it was sent to, as the sign-in page would, and wait for it (the code works
    in this browser too)."""
    form = NewLinkForm()
    if not form.validate_on_submit():
        opened = signin.look_at(token)
        return _link_problem(opened.state, token, opened, form=form, status=400)
    try:
        outcome = signin.renew(token, language=page_language().tag)
    except signin.SignInError as exc:
        return _link_problem(exc.state, token, signin.look_at(token), status=400)
    session[PENDING] = outcome.public_id
    response = redirect(url_for("auth.check_email"))
    return deliver_after_response(response, outcome.outbox_ids)


# --- a new session, as one of the accounts -------------------------------------------------


def _complete(principals: list[signin.Principal]) -> BaseResponse:
    # A new session every time: nothing from before signing in carries over, and a session
    # this browser already had is ended on the server, not just forgotten by the browser.
    if current_user.is_authenticated:
        signin.end_session(current_user.get_id())
    logout_user()
    session.clear()
    if len(principals) == 1:
        return _sign_in_as(principals[0])
    # The choice is held on the server and made once (docs/security.md, promise 7): the
    # session keeps only its id, so a copy of this cookie cannot make a second session.
    session[CHOICE] = signin.offer_choice(principals)
    return redirect(url_for("auth.choose"))


def _sign_in_as(principal: signin.Principal) -> BaseResponse:
    session.clear()
    token = signin.start_session(principal)
    user = signin.load_session(token)
    if user is None:  # pragma: no cover - a session just made is always loadable
        return redirect(url_for("auth.sign_in"))
    login_user(user)
    session.permanent = False
    return redirect(_home_for(user))


def _label(principal: signin.Principal) -> str:
    """An account as the choosing page names it, in the page's language."""
    if principal.type == PrincipalType.GUARDIAN:
        return _("Parent or carer")
    label = STAFF_LABELS.get(principal.role or "")
    if label is None or principal.school is None:
        return principal.label  # a choice held before the school and role were kept
    return str(label) % {"school": principal.school}


def _choose_form(options: list[signin.Principal]) -> ChooseForm:
    form = ChooseForm()
    form.principal.choices = [(p.key, _label(p)) for p in options]
    return form


@bp.get("/sign-in/choose")
def choose() -> str | BaseResponse:
    options = signin.pending_choice(session.get(CHOICE))
    if options is None:
        return redirect(url_for("auth.sign_in"))
    return render_template(CHOOSE_PAGE, form=_choose_form(options))


@bp.post("/sign-in/choose")
def chose() -> str | BaseResponse:
    choice = session.get(CHOICE)
    options = signin.pending_choice(choice)
    if choice is None or options is None:  # none, made already, or too late: sign in again
        return redirect(url_for("auth.sign_in"))
    form = _choose_form(options)
    if not form.validate_on_submit():
        return whole_page(CHOOSE_PAGE, status=400, form=form)
    try:
        chosen = signin.make_choice(choice, form.principal.data or "")
    except signin.SignInError as exc:  # made a moment ago, by a copy of this cookie
        return render_template(LINK_PROBLEM_PAGE, title=PROBLEMS[exc.state], state=exc.state)
    return _sign_in_as(chosen)


# --- signing out ---------------------------------------------------------------------------


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    form = SignOutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        signin.end_session(current_user.get_id())
    logout_user()
    session.clear()
    return redirect(url_for("auth.signed_out"))


@bp.get("/signed-out")
def signed_out() -> str:
    return render_template(SIGNED_OUT_PAGE)


@bp.context_processor
def link_minutes() -> dict[str, int]:
    return {"link_minutes": min(15, int(current_app.config["SIGN_IN_LINK_MINUTES"]))}
