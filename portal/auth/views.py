from __future__ import annotations

import hashlib
import time

from flask import current_app, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from .. import emails, signin
from ..extensions import limiter
from ..mail.delivery import deliver_after_response
from ..models import PrincipalType
from . import bp
from .forms import ChooseForm, CodeForm, ContinueForm, SignInForm, SignOutForm

PENDING = "sign_in_request"
CHOICES = "sign_in_choices"
CHOICE_SECONDS = 300
PROBLEMS = {
    signin.LinkState.EXPIRED: "This sign-in link has expired",
    signin.LinkState.USED: "This sign-in link has already been used",
    signin.LinkState.SUPERSEDED: "A newer sign-in link has been sent",
    signin.LinkState.UNKNOWN: "This sign-in link does not work",
    signin.LinkState.TOO_MANY_ATTEMPTS: "This sign-in link does not work any more",
}


def _client_key() -> str:
    return "client:" + (get_remote_address() or "unknown")


def _address_key() -> str:
    value = (request.form.get("email") or "").strip()
    try:
        value = emails.normalise(value)
    except emails.InvalidEmail:
        value = value.lower()
    return "address:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _home_for(user: signin.SignedIn) -> str:
    return url_for("staff.home") if user.is_staff else url_for("parent.home")


@bp.get("/sign-in")
def sign_in() -> str | Response:
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    return render_template("auth/sign_in.html", form=SignInForm())


@bp.post("/sign-in")
@limiter.limit(lambda: current_app.config["SIGN_IN_LIMIT_PER_CLIENT"], key_func=_client_key)
@limiter.limit(lambda: current_app.config["SIGN_IN_LIMIT_PER_ADDRESS"], key_func=_address_key)
def ask_for_link() -> str | Response:
    form = SignInForm()
    if not form.validate_on_submit():
        return render_template("auth/sign_in.html", form=form), 400  # type: ignore[return-value]
    outcome = signin.request_link(form.email.data or "")
    session[PENDING] = outcome.public_id
    response = redirect(url_for("auth.check_email"))
    return deliver_after_response(response, outcome.outbox_ids)


@bp.get("/sign-in/check-your-email")
def check_email() -> str | Response:
    if PENDING not in session:
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/check_email.html", form=CodeForm())


@bp.post("/sign-in/code")
@limiter.limit(lambda: current_app.config["SIGN_IN_CODE_LIMIT_PER_CLIENT"], key_func=_client_key)
def enter_code() -> str | Response:
    form = CodeForm()
    if form.validate_on_submit():
        try:
            principals = signin.use_code(session.get(PENDING), form.code.data or "")
        except signin.SignInError as exc:
            message = (
                "The code is not right, or it has stopped working. Check the latest email "
                "or ask for a new link."
            )
            if exc.state == signin.LinkState.TOO_MANY_ATTEMPTS:
                message = "Too many wrong codes. Ask for a new link."
            form.code.errors = [message]
        else:
            return _complete(principals)
    return render_template("auth/check_email.html", form=form), 400  # type: ignore[return-value]


@bp.route("/sign-in/link/<string:token>", methods=["GET", "HEAD"])
def open_link(token: str) -> str:
    """A link opens a page with a button: opening it (as mail scanners do) changes nothing."""
    state = signin.link_state(token)
    if state != signin.LinkState.VALID:
        return render_template("auth/link_problem.html", title=PROBLEMS[state], state=state)
    return render_template("auth/continue.html", form=ContinueForm(), token=token)


@bp.post("/sign-in/link/<string:token>")
def use_link(token: str) -> str | Response:
    form = ContinueForm()
    if not form.validate_on_submit():
        return render_template("auth/continue.html", form=form, token=token)
    try:
        principals = signin.use_link(token)
    except signin.SignInError as exc:
        return render_template("auth/link_problem.html", title=PROBLEMS[exc.state], state=exc.state)
    return _complete(principals)


def _complete(principals: list[signin.Principal]) -> Response:
    # A new session every time: nothing from before signing in carries over, and a session
    # this browser already had is ended on the server, not just forgotten by the browser.
    if current_user.is_authenticated:
        signin.end_session(current_user.get_id())
    logout_user()
    session.clear()
    if len(principals) == 1:
        return _sign_in_as(principals[0])
    session[CHOICES] = {
        "until": time.time() + CHOICE_SECONDS,
        "options": [[p.type.value, p.id, p.label] for p in principals],
    }
    return redirect(url_for("auth.choose"))


def _sign_in_as(principal: signin.Principal) -> Response:
    session.clear()
    token = signin.start_session(principal)
    user = signin.load_session(token)
    if user is None:  # pragma: no cover - a session just made is always loadable
        return redirect(url_for("auth.sign_in"))
    login_user(user)
    session.permanent = False
    return redirect(_home_for(user))


def _choices() -> list[signin.Principal] | None:
    pending = session.get(CHOICES)
    if not pending or pending.get("until", 0) < time.time():
        return None
    return [signin.Principal(PrincipalType(t), int(i), label) for t, i, label in pending["options"]]


@bp.get("/sign-in/choose")
def choose() -> str | Response:
    options = _choices()
    if options is None:
        return redirect(url_for("auth.sign_in"))
    form = ChooseForm()
    form.principal.choices = [(p.key, p.label) for p in options]
    return render_template("auth/choose.html", form=form)


@bp.post("/sign-in/choose")
def chose() -> str | Response:
    options = _choices()
    if options is None:
        return redirect(url_for("auth.sign_in"))
    form = ChooseForm()
    form.principal.choices = [(p.key, p.label) for p in options]
    if not form.validate_on_submit():
        return render_template("auth/choose.html", form=form), 400  # type: ignore[return-value]
    chosen = next(p for p in options if p.key == form.principal.data)
    return _sign_in_as(chosen)


@bp.post("/sign-out")
def sign_out() -> Response:
    form = SignOutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        signin.end_session(current_user.get_id())
    logout_user()
    session.clear()
    return redirect(url_for("auth.signed_out"))


@bp.get("/signed-out")
def signed_out() -> str:
    return render_template("auth/signed_out.html")


@bp.context_processor
def link_minutes() -> dict[str, int]:
    return {"link_minutes": min(15, int(current_app.config["SIGN_IN_LINK_MINUTES"]))}
