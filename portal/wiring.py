"""Everything the application factory connects, in one place.

What follows a decision (ledger subscribers), the kinds of email the outbox can send, the
blueprints and the command groups are registered here, explicitly, for each app that
`create_app` builds. Nothing is registered by importing a module for its side effect, so a
decision recorded from a command or a worker has the same consequences as one made on a page.
"""

from __future__ import annotations

from flask import Flask

from . import (
    daily,
    family_reports,
    invitations,
    ledger,
    objections,
    receipts,
    renewals,
    retention,
    rights_requests,
    second_factor,
    signin,
    staff_users,
    takedowns,
    todo,
    transparency,
)
from .mail import render


def init_app(app: Flask) -> None:
    _subscribe_to_the_ledger(app)
    _register_emails(app)
    _register_blueprints(app)
    _register_commands(app)
    _register_daily_jobs(app)
    _register_things_to_do(app)


def _subscribe_to_the_ledger(app: Flask) -> None:
    # A withdrawal or objection that stops a published use makes a take-down task.
    ledger.subscribe(app, takedowns.on_append)
    # An objection the school must review emails its admins.
    ledger.subscribe(app, objections.on_append)


def _register_emails(app: Flask) -> None:
    # Emails to families are in the language each person reads (`language`); emails to
    # staff have none: English.
    render.register(
        app,
        signin.TEMPLATE,
        subject=signin.SUBJECT,
        builder=signin.email_context,
        log_line=signin.log_line,
        language=signin.email_language,
    )
    render.register(
        app,
        receipts.TEMPLATE,
        subject=receipts.SUBJECT,
        builder=receipts.email_context,
        merger=receipts.merge,
        language=receipts.email_language,
    )
    render.register(
        app, takedowns.TEMPLATE, subject=takedowns.SUBJECT, builder=takedowns.email_context
    )
    render.register(
        app,
        takedowns.digest.TEMPLATE,
        subject=takedowns.digest.SUBJECT,
        builder=takedowns.digest.email_context,
    )
    render.register(
        app,
        invitations.TEMPLATE,
        subject=invitations.SUBJECT,
        builder=invitations.email_context,
        language=invitations.email_language,
    )
    render.register(
        app,
        objections.REVIEW_TEMPLATE,
        subject=objections.REVIEW_SUBJECT,
        builder=objections.review_email_context,
    )
    render.register(
        app,
        objections.OUTCOME_TEMPLATE,
        subject=objections.OUTCOME_SUBJECT,
        builder=objections.outcome_email_context,
        language=objections.outcome_email_language,
    )
    render.register(
        app,
        rights_requests.ADMIN_TEMPLATE,
        subject=rights_requests.ADMIN_SUBJECT,
        builder=rights_requests.admin_context,
    )
    render.register(
        app,
        rights_requests.FAMILY_TEMPLATE,
        subject=rights_requests.FAMILY_SUBJECT,
        builder=rights_requests.family_context,
        language=rights_requests.family_language,
    )
    render.register(
        app,
        family_reports.ADMIN_TEMPLATE,
        subject=family_reports.ADMIN_SUBJECT,
        builder=family_reports.admin_context,
    )
    render.register(
        app,
        renewals.TEMPLATE,
        subject=renewals.SUBJECT,
        builder=renewals.email_context,
        language=renewals.email_language,
    )
    render.register(
        app,
        second_factor.RESET_TEMPLATE,
        subject=second_factor.RESET_SUBJECT,
        builder=second_factor.reset_email_context,
    )
    render.register(
        app, transparency.TEMPLATE, subject=transparency.SUBJECT, builder=transparency.email_context
    )
    render.register(
        app,
        staff_users.WELCOME_TEMPLATE,
        subject=staff_users.WELCOME_SUBJECT,
        builder=staff_users.welcome_email_context,
    )


def _register_blueprints(app: Flask) -> None:
    from .auth import bp as auth_bp
    from .parent import bp as parent_bp
    from .public import bp as public_bp
    from .staff import bp as staff_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(parent_bp, url_prefix="/family")
    app.register_blueprint(staff_bp, url_prefix="/staff")


def _register_daily_jobs(app: Flask) -> None:
    # Jobs that run once a day (`flask daily run`, and the mail worker).
    daily.register(app, "rights_reminders", rights_requests.send_reminders)
    daily.register(app, takedowns.digest.JOB, takedowns.digest.send_digest)
    daily.register(app, "retention", retention.daily)
    # Families whose "yes" has lapsed are asked again (at most once a fortnight each).
    daily.register(app, renewals.JOB, renewals.daily)
    # Each school's ledger signed and sent to its DPO, when the deployment has a key.
    if app.config.get("PORTAL_CHECKPOINT_KEY") and app.config.get("PORTAL_CHECKPOINT_DIR"):
        daily.register(app, transparency.JOB, transparency.daily)


def _register_things_to_do(app: Flask) -> None:
    # What each feature adds to the staff's queue of things to do.
    todo.register(app, objections.todo_items)
    todo.register(app, rights_requests.things_to_do)
    todo.register(app, takedowns.things_to_do)
    todo.register(app, family_reports.things_to_do)


def _register_commands(app: Flask) -> None:
    from . import cli

    cli.init_app(app)
