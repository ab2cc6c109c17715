"""Operator commands, all under `flask --app app`: the README's "Operator commands" table is
the contract that scripts and operators rely on."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .. import demo as demo_module
from .. import emails, languages, notices, purposes, roster, schools, second_factor
from ..errors import PortalError

school_cli = AppGroup("school", help="Create and list schools.")
staff_cli = AppGroup("staff", help="Manage staff users.")
roster_cli = AppGroup("roster", help="Import pupils and their contacts from the MIS.")
notice_cli = AppGroup("notice", help="Publish privacy notices.")
purposes_cli = AppGroup("purposes", help="Load a school's purposes.")


def _read_text(file: Path) -> str:
    """The text of a UTF-8 file (a byte order mark, as some editors write, is dropped). A file
    that is not text (a NUL byte: a spreadsheet, an image) is refused, naming the line."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file} is not UTF-8 text; save it as UTF-8") from exc
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise click.ClickException(
            f"{file}:{line}: a NUL character: this is not a text file; nothing was loaded"
        )
    return text


def _school(slug: str) -> schools.School:
    try:
        return schools.get_by_slug(slug)
    except PortalError as exc:
        raise click.ClickException(str(exc)) from exc


@school_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The school's name, as families know it.")
@click.option("--contact-email", help="The school office's email address.")
@click.option("--dpo-name", help="The data protection officer's name.")
@click.option("--dpo-email", help="The data protection officer's email address.")
def school_create(
    slug: str,
    name: str,
    contact_email: str | None,
    dpo_name: str | None,
    dpo_email: str | None,
) -> None:
    """Create a school with the address-safe name SLUG."""
    try:
        school = schools.create(
            slug, name=name, contact_email=contact_email, dpo_name=dpo_name, dpo_email=dpo_email
        )
    except (PortalError, emails.InvalidEmail) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created school {school.slug}: {school.name}")


@school_cli.command("list")
def school_list() -> None:
    """List the schools on this portal."""
    for school in schools.all_schools():
        click.echo(f"{school.slug}\t{school.name}")


@staff_cli.command("add")
@click.argument("email")
@click.option("--school", "slug", required=True, help="The school's slug.")
@click.option("--role", required=True, type=click.Choice(["admin", "staff", "marketing"]))
@click.option("--name", help="The person's name.")
def staff_add(email: str, slug: str, role: str, name: str | None) -> None:
    """Add a staff user (or change the role of an existing one)."""
    school = _school(slug)
    try:
        result = schools.add_staff(school, email, role=role, name=name)
    except (PortalError, emails.InvalidEmail) as exc:
        raise click.ClickException(str(exc)) from exc
    verb = "Added" if result.created else "Updated"
    click.echo(f"{verb} {result.user.email} as {result.user.role} at {school.slug}")


@staff_cli.command("reset-factor")
@click.argument("email")
@click.option("--school", "slug", required=True, help="The school's slug.")
def staff_reset_factor(email: str, slug: str) -> None:
    """Reset a staff user's second factor (for the last admin: any other staff user can be
    reset by an admin of the school). Their passkeys, app and recovery codes stop working,
    their sessions end, and they are emailed; they set up a new one at their next sign-in."""
    _school(slug)
    try:
        done = second_factor.reset_by_operator(slug, email)
    except PortalError as exc:
        raise click.ClickException(str(exc)) from exc
    sessions = done.sessions_ended
    click.echo(
        f"Reset the second factor of {done.user.email} at {slug}: {sessions} session"
        f"{'' if sessions == 1 else 's'} ended; they have been emailed, and set up a new "
        "one at their next sign-in."
    )


@roster_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--school", "slug", required=True, help="The school's slug.")
@click.option(
    "--mark-missing-as-left",
    is_flag=True,
    help="Mark pupils on roll who are not in the file as having left today.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Say what the import would do, and every row with a problem; import nothing.",
)
def roster_import(file: Path, slug: str, mark_missing_as_left: bool, dry_run: bool) -> None:
    """Import a roster CSV: one row per pupil and contact. Re-importing updates. Any size of
    file: the web takes files up to 4 MB."""
    school = _school(slug)
    text = _read_text(file)
    try:
        report = roster.import_roster(
            school, text, mark_missing_as_left=mark_missing_as_left, dry_run=dry_run
        )
    except roster.RosterFileError as exc:
        raise click.ClickException(f"{file}: {exc}; nothing was imported") from exc
    for rejection in report.rejected:
        click.echo(f"{file}:{rejection.line}: rejected: {rejection.reason}", err=True)
    if dry_run:
        click.echo("Dry run: nothing was imported. The import would do this:")
    click.echo(report.summary())
    click.echo(
        f"pupils: {report.pupils_created} new, {report.pupils_updated} updated; "
        f"guardians: {report.guardians_created} new; links ended: {report.links_ended}"
        + (f"; marked as left: {report.marked_left}" if mark_missing_as_left else "")
    )


@notice_cli.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--school", "slug", required=True, help="The school's slug.")
@click.option("--title", required=True, help="The notice's title.")
@click.option(
    "--format",
    "source_format",
    type=click.Choice(["markdown", "text"]),
    help="Markdown (the default) or plain text (the default for .txt files).",
)
@click.option(
    "--brief",
    "brief_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A plain-text file: the notice in brief, shown before the full notice.",
)
@click.option(
    "--lang",
    "language",
    help="Publish FILE as a translation into this language (a BCP 47 code such as pl, ur "
    "or pa-Guru), with --translation-of.",
)
@click.option(
    "--translation-of",
    "version",
    type=click.IntRange(min=1),
    help="The version FILE translates (with --lang).",
)
def notice_publish(
    file: Path,
    slug: str,
    title: str,
    source_format: str | None,
    brief_file: Path | None,
    language: str | None,
    version: int | None,
) -> None:
    """Publish FILE as the school's new privacy notice version, or, with --lang and
    --translation-of, as the translation of a version into another language."""
    if language is not None and version is None:
        raise click.UsageError("--lang needs --translation-of N: the version FILE translates")
    if version is not None and language is None:
        raise click.UsageError("--translation-of needs --lang: the language FILE is written in")
    school = _school(slug)
    source = _read_text(file)
    brief = _read_text(brief_file) if brief_file is not None else None
    source_format = source_format or notices.format_for_filename(file.name)
    if language is not None and version is not None:
        try:
            translation = notices.publish_translation(
                school,
                version,
                language=language,
                title=title,
                source=source,
                source_format=source_format,
                brief=brief,
            )
        except notices.NoticeError as exc:
            raise click.ClickException(str(exc)) from exc
        name = languages.get(translation.language).english
        click.echo(
            f"Published the {name} translation of version {version} of {school.slug}'s notice"
        )
        return
    try:
        result = notices.publish(
            school, title=title, source=source, source_format=source_format, brief=brief
        )
    except notices.NoticeError as exc:
        raise click.ClickException(str(exc)) from exc
    if result.created:
        click.echo(f"Published version {result.notice.version} of {school.slug}'s notice")
    else:
        click.echo(
            f"Unchanged: version {result.notice.version} already has this title, text and "
            "brief; "
            "nothing published"
        )


@purposes_cli.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--school", "slug", required=True, help="The school's slug.")
def purposes_load(file: Path, slug: str) -> None:
    """Create or update the school's purposes from a TOML file (see examples/purposes.toml)."""
    school = _school(slug)
    try:
        report = purposes.load(school, _read_text(file))
    except purposes.PurposesFileError as exc:
        for problem in exc.problems:
            click.echo(f"{file}: {problem}", err=True)
        raise click.ClickException(f"{file} has problems; nothing was loaded") from exc
    for label, keys in (
        ("created", report.created),
        ("new wording version", report.reworded),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("retired (no longer in the file)", report.retired),
        ("translations added", report.translated),
    ):
        if keys:
            click.echo(f"{label}: {', '.join(keys)}")
    for key in report.translated_as_before:
        click.echo(
            f"{file}: check {key}: the English wording changed, but the translation is word for "
            "word the one of the wording before",
            err=True,
        )


@click.command("demo")
def demo() -> None:
    """Load the demo school, notice, purposes, families and staff (idempotent)."""
    result = demo_module.load()
    school = result.school
    base = current_app.config["BASE_URL"]
    click.echo(
        f"Demo school {school.name} ({school.slug}): "
        + ("created" if result.school_created else "already there")
        + f"; roster {result.roster.summary()}"
    )
    click.echo(f"Privacy notice: {base}/schools/{school.slug}/privacy-notice")
    click.echo(f"Sign in at {base}/sign-in with one of these addresses:")
    for role, (email, _name) in demo_module.STAFF.items():
        click.echo(f"  staff ({role.value}):{' ' * (10 - len(role.value))}{email}")
    click.echo("  parent:            farah.hussain@example.org (two children)")
    if current_app.config.get("STAFF_SECOND_FACTOR", True):
        click.echo(
            "Staff then set up a second factor (a passkey, or an authenticator app: the page "
            "shows its key as text too); STAFF_SECOND_FACTOR=off skips it in development."
        )
    if not current_app.config.get("MAIL_SERVER"):
        click.echo(
            "No MAIL_SERVER is set: each email is written to instance/outbox/ and its sign-in "
            "link is printed in the server's log."
        )


def init_app(app: Flask) -> None:
    for group in (school_cli, staff_cli, roster_cli, notice_cli, purposes_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo)
