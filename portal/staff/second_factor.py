"""The second factor, for staff (docs/second-factor.md): checking it after the emailed link,
setting one up, recovery codes, and each person's own page of factors.

These views need a signed-in staff user but not a second factor passed (`before_second_
factor`): they are how one is passed. Setting one up is open before that only to a user who
has none; a user who has one must use it first, so an emailed link alone cannot add a new
factor to someone's account. Wrong codes are limited per user and per client, in the shared
store (SECOND_FACTOR_LIMIT_PER_USER, SECOND_FACTOR_LIMIT_PER_CLIENT).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Response,
    abort,
    current_app,
    flash,
    get_flashed_messages,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from .. import second_factor
from ..extensions import limiter, login_manager
from ..second_factor import passkeys, recovery, totp
from ..web.access import STAFF_ROLES, fresh_second_factor, passed_second_factor, staff_required
from ..web.hypermedia import whole_page
from ..web.incoming import parse_id
from . import bp
from .nav import current_staff
from .second_factor_forms import (
    AppCodeForm,
    MakeCodesForm,
    RecoveryCodeForm,
    RemovePasskeyForm,
    StartAppForm,
)

CHECK_PAGE = "staff/second_factor/check.html"
RECOVERY_PAGE = "staff/second_factor/recovery_code.html"
CHOOSE_PAGE = "staff/second_factor/set_up.html"
APP_PAGE = "staff/second_factor/app.html"
CODES_PAGE = "staff/second_factor/recovery_codes.html"
SECURITY_PAGE = "staff/second_factor/security.html"
FLASH = "second-factor"
WRONG_APP_CODE = (
    "The code is not right, or it has been used already. Wait for the next code in your "
    "app and enter that"
)
WRONG_RECOVERY_CODE = "That is not one of your recovery codes, or it has been used already"

View = TypeVar("View", bound=Callable[..., Any])


def before_second_factor(view: View) -> View:
    """A signed-in staff user, whether or not their session has passed a second factor yet.
    Marked on the view, so that the URL-map walk knows these are the only exceptions."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_staff:
            abort(403)
        return view(*args, **kwargs)

    wrapped.before_second_factor = True  # type: ignore[attr-defined]
    wrapped.allowed_roles = frozenset(STAFF_ROLES)  # type: ignore[attr-defined]
    return cast(View, wrapped)


def _user_key() -> str:
    user = current_user.staff if current_user.is_authenticated and current_user.is_staff else None
    return f"second-factor-user:{user.id if user else 'none'}"


def _client_key() -> str:
    return "second-factor-client:" + (get_remote_address() or "unknown")


def _failed(response: BaseResponse) -> bool:
    """Only a refused code or passkey (400) counts against the limits: a right code costs
    nothing, and an answer that is itself a limit's 429 is not one more try."""
    return response.status_code == 400


def limited(view: View) -> View:
    per_user = limiter.limit(
        lambda: current_app.config["SECOND_FACTOR_LIMIT_PER_USER"],
        key_func=_user_key,
        deduct_when=_failed,
    )
    per_client = limiter.limit(
        lambda: current_app.config["SECOND_FACTOR_LIMIT_PER_CLIENT"],
        key_func=_client_key,
        deduct_when=_failed,
    )
    return cast(View, per_client(per_user(view)))


def _next(value: object) -> str:
    """Where to go after the second factor: a staff page of this site, or the dashboard."""
    value = value.strip() if isinstance(value, str) else ""
    if value.startswith("/staff") and not value.startswith("//") and "\\" not in value:
        return value
    return url_for("staff.home")


def _passed(method: str, target: str, **detail: Any) -> BaseResponse:
    second_factor.record_pass(current_staff(), current_user.get_id(), method, detail=detail)
    return redirect(target)


def _may_set_up() -> bool:
    """Adding or replacing a factor: when the user has none to pass, or after passing one in
    the last FRESH_MINUTES (a session left open on a desk cannot add someone else's)."""
    if not second_factor.factors_of(current_staff().id).enrolled:
        return True
    passed_at = current_user.second_factor_at
    return passed_second_factor() and (
        passed_at is None or second_factor.is_fresh(passed_at)  # None: not required here
    )


# --- checking the second factor ------------------------------------------------------------


@bp.get("/second-factor", endpoint="second_factor")
@before_second_factor
def check() -> str | BaseResponse:
    staff = current_staff()
    target = _next(request.args.get("next"))
    factors = second_factor.factors_of(staff.id)
    if not factors.enrolled:
        return redirect(url_for(".set_up_second_factor", next=target))
    again = current_user.second_factor_at is not None
    return render_template(
        CHECK_PAGE,
        factors=factors,
        form=AppCodeForm(formdata=None, next=target),
        again=again,
        target=target,
    )


@bp.post("/second-factor/app", endpoint="check_app_code")
@before_second_factor
@limited
def check_app_code() -> BaseResponse:
    staff = current_staff()
    form = AppCodeForm()
    target = _next(form.next.data)
    if form.validate_on_submit():
        if totp.check(staff, form.code.data or ""):
            return _passed("totp", target)
        second_factor.record_failure(staff, "totp", "wrong or used code")
        form.code.errors = [WRONG_APP_CODE]
    return whole_page(
        CHECK_PAGE,
        status=400,
        factors=second_factor.factors_of(staff.id),
        form=form,
        again=current_user.second_factor_at is not None,
        target=target,
    )


@bp.route("/second-factor/recovery-code", methods=["GET", "POST"], endpoint="use_recovery_code")
@before_second_factor
@limited
def use_recovery_code() -> str | BaseResponse:
    staff = current_staff()
    form = RecoveryCodeForm(next=request.args.get("next"))
    if request.method == "GET":
        return render_template(RECOVERY_PAGE, form=form)
    target = _next(form.next.data)
    if form.validate_on_submit():
        left = recovery.use(staff, form.code.data or "")
        if left is not None:
            flash(
                f"You used a recovery code. You have {left} left."
                + (
                    " Make new ones below, and set up your passkey or app again if you lost it."
                    if left <= 3
                    else ""
                ),
                FLASH,
            )
            return _passed("recovery", url_for(".security", next=target), left=left)
        second_factor.record_failure(staff, "recovery", "not a code of theirs, or used")
        form.code.errors = [WRONG_RECOVERY_CODE]
    return whole_page(RECOVERY_PAGE, status=400, form=form)


def _json_body() -> dict[str, Any]:
    """The JSON object a passkey ceremony's script sends; anything else counts as empty."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _json_error(message: str, status: int = 400) -> BaseResponse:
    return jsonify({"error": message}), status  # type: ignore[return-value]


def options_limited(view: View) -> View:
    """Each ceremony's options hold a challenge on the server: at most
    SECOND_FACTOR_OPTIONS_LIMIT a user (old ones are deleted as new ones are made)."""
    return cast(
        View,
        limiter.limit(
            lambda: current_app.config["SECOND_FACTOR_OPTIONS_LIMIT"], key_func=_user_key
        )(view),
    )


@bp.post("/second-factor/passkey/options", endpoint="passkey_options")
@before_second_factor
@options_limited
def passkey_options() -> BaseResponse:
    options = passkeys.authentication_options(current_staff())
    if options is None:
        return _json_error("You have no passkey: use your authenticator app or a recovery code")
    return Response(options, mimetype="application/json")


@bp.post("/second-factor/passkey", endpoint="passkey_sign_in")
@before_second_factor
@limited
def passkey_sign_in() -> BaseResponse:
    staff = current_staff()
    body = _json_body()
    try:
        passkey = passkeys.authenticate(staff, body.get("credential") or {})
    except passkeys.PasskeyError as refused:
        second_factor.record_failure(staff, "passkey", str(refused))
        return _json_error("That passkey did not work. Try again, or use another way below.")
    second_factor.record_pass(
        staff, current_user.get_id(), "passkey", detail={"passkey_id": passkey.id}
    )
    return jsonify({"redirect": _next(body.get("next"))})


# --- setting one up ------------------------------------------------------------------------


@bp.get("/second-factor/set-up", endpoint="set_up_second_factor")
@before_second_factor
def set_up() -> str | BaseResponse:
    target = _next(request.args.get("next"))
    if not _may_set_up():
        return redirect(url_for(".second_factor", next=target))
    factors = second_factor.factors_of(current_staff().id)
    return render_template(
        CHOOSE_PAGE, factors=factors, start_form=StartAppForm(formdata=None, next=target),
        target=target,
    )  # fmt: skip


@bp.post("/second-factor/set-up/app", endpoint="start_app")
@before_second_factor
def start_app() -> BaseResponse:
    form = StartAppForm()
    target = _next(form.next.data)
    if not _may_set_up():
        return redirect(url_for(".second_factor", next=target))
    if form.validate_on_submit():
        totp.start_set_up(current_staff())
    return redirect(url_for(".app_set_up", next=target))


def _app_page(form: AppCodeForm, status: int = 200) -> BaseResponse:
    set_up = totp.pending_set_up(current_staff())
    if set_up is None:
        return redirect(url_for(".set_up_second_factor", next=form.next.data or None))
    return whole_page(APP_PAGE, status=status, form=form, set_up=set_up)


@bp.get("/second-factor/set-up/app", endpoint="app_set_up")
@before_second_factor
def app_set_up() -> BaseResponse:
    if not _may_set_up():
        return redirect(url_for(".second_factor", next=_next(request.args.get("next"))))
    return _app_page(AppCodeForm(formdata=None, next=_next(request.args.get("next"))))


@bp.post("/second-factor/set-up/app/confirm", endpoint="confirm_app")
@before_second_factor
@limited
def confirm_app() -> BaseResponse:
    staff = current_staff()
    form = AppCodeForm()
    target = _next(form.next.data)
    if not _may_set_up():
        return redirect(url_for(".second_factor", next=target))
    if form.validate_on_submit():
        first = not second_factor.factors_of(staff.id).enrolled
        if totp.confirm_set_up(staff, form.code.data or ""):
            return _enrolled("totp", first, target)
        second_factor.record_failure(staff, "totp", "wrong code while setting up")
        form.code.errors = [
            "The code is not right. Check that the app shows this account, wait for the "
            "next code and enter that"
        ]
    return _app_page(form, status=400)


def _enrolled(method: str, first: bool, target: str) -> BaseResponse:
    """After a new factor: passing it counts as passing the second factor; the first one
    goes on to the recovery codes."""
    if first or current_user.second_factor_at is None:
        second_factor.record_pass(current_staff(), current_user.get_id(), method,
                                  detail={"set_up": True})  # fmt: skip
    if first:
        return redirect(url_for(".recovery_codes", next=target))
    flash("Your authenticator app is set up.", FLASH)
    return redirect(url_for(".security"))


@bp.post("/second-factor/set-up/passkey/options", endpoint="passkey_register_options")
@before_second_factor
@options_limited
def passkey_register_options() -> BaseResponse:
    if not _may_set_up():
        return _json_error("Use your second factor first", 403)
    return Response(passkeys.registration_options(current_staff()), mimetype="application/json")


@bp.post("/second-factor/set-up/passkey", endpoint="passkey_register")
@before_second_factor
@limited
def passkey_register() -> BaseResponse:
    staff = current_staff()
    if not _may_set_up():
        return _json_error("Use your second factor first", 403)
    body = _json_body()
    name = str(body.get("name") or "").strip()
    if problem := passkeys.name_problem(name):
        return _json_error(problem)
    first = not second_factor.factors_of(staff.id).enrolled
    try:
        passkeys.register(staff, body.get("credential") or {}, name=name)
    except passkeys.PasskeyError as refused:
        second_factor.record_failure(staff, "passkey", f"registration refused: {refused}")
        return _json_error("The passkey could not be added. Try again, or use an app.")
    target = _next(body.get("next"))
    if first or current_user.second_factor_at is None:
        second_factor.record_pass(staff, current_user.get_id(), "passkey",
                                  detail={"set_up": True})  # fmt: skip
    if first:
        return jsonify({"redirect": url_for(".recovery_codes", next=target)})
    flash(f"Your passkey “{name}” was added.", FLASH)
    return jsonify({"redirect": url_for(".security")})


# --- recovery codes ------------------------------------------------------------------------


@bp.get("/second-factor/recovery-codes", endpoint="recovery_codes")
@staff_required()
def recovery_codes() -> str:
    return render_template(
        CODES_PAGE,
        form=MakeCodesForm(formdata=None, next=request.args.get("next")),
        left=recovery.left(current_staff().id),
        codes=None,
    )


@bp.post("/second-factor/recovery-codes", endpoint="make_recovery_codes")
@staff_required()
@fresh_second_factor(back="staff.recovery_codes")
def make_recovery_codes() -> BaseResponse:
    form = MakeCodesForm()
    if not form.validate_on_submit():
        return redirect(url_for(".recovery_codes"))
    codes = recovery.make_now(current_staff())
    # Shown once, in this answer (never stored, never cached: staff pages are no-store).
    return whole_page(
        CODES_PAGE, form=form, left=len(codes), codes=codes, target=_next(form.next.data)
    )


# --- each person's own factors -------------------------------------------------------------


@bp.get("/account/security", endpoint="security")
@staff_required()
def security() -> str:
    staff = current_staff()
    return render_template(
        SECURITY_PAGE,
        factors=second_factor.factors_of(staff.id),
        remove_form=RemovePasskeyForm(formdata=None),
        start_form=StartAppForm(formdata=None, next=url_for(".security")),
        messages=get_flashed_messages(category_filter=[FLASH]),
        target=_next(request.args.get("next")),
        passed=current_user.second_factor,
        passed_at=current_user.second_factor_at,
    )


@bp.post("/account/passkeys/remove", endpoint="remove_passkey")
@staff_required()
@fresh_second_factor(back="staff.security")
def remove_passkey() -> BaseResponse:
    staff = current_staff()
    form = RemovePasskeyForm()
    passkey_id = parse_id(form.passkey.data)
    if not form.validate_on_submit() or passkey_id is None:
        return redirect(url_for(".security"))
    factors = second_factor.factors_of(staff.id)
    if factors.count <= 1 and any(p.id == passkey_id for p in factors.passkeys):
        flash(
            "You cannot remove your only second factor: add another passkey or an "
            "authenticator app first.",
            FLASH,
        )
        return redirect(url_for(".security"))
    try:
        removed = passkeys.remove(staff, passkey_id)
    except passkeys.PasskeyError:
        return redirect(url_for(".security"))  # not one of theirs (or removed already)
    flash(f"The passkey “{removed.name}” was removed.", FLASH)
    return redirect(url_for(".security"))
