"""The privacy notice (admins): the current notice and its versions, and a new version —
previewed as families will see it (the draft: nothing is saved), then published; and the
school's translations of each version, with a form to publish one of the current version
(docs/translations-by-schools.md).

Plain forms and redirects; a boosted request (htmx) gets the same whole page.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, url_for
from govuk_frontend_wtf.wtforms_widgets import (
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import languages, notices
from ..models import NoticeVersion
from ..web.access import staff_required
from ..web.forms import PortalForm, strip
from ..web.hypermedia import confirmation, whole_page
from . import bp
from .nav import ADMIN, current_school, current_staff

FORMAT = "markdown"  # what the form takes; the command line also publishes plain text
PUBLISHED = "notice-published"  # the flash category of the confirmation
TRANSLATION = "translation"  # the prefix of the translation form's fields
MAX_SUMMARY = 1000
MAX_SOURCE = 100_000
MAX_BRIEF = 3000  # characters; notices.MAX_BRIEF_WORDS words is the rule families notice


def _newlines(value: Any) -> Any:
    """A textarea's CRLF line breaks as LF, as the stored text has them."""
    return notices.newlines(value) if isinstance(value, str) else value


class NoticeForm(PortalForm):
    """A new version of the notice: previewed (the draft), then published."""

    title = StringField(
        "Title",
        widget=GovTextInput(),
        filters=[strip],
        validators=[
            DataRequired(message="Enter a title"),
            Length(
                max=notices.MAX_TITLE,
                message=f"The title must be {notices.MAX_TITLE} characters or fewer",
            ),
        ],
    )
    source = TextAreaField(
        "The notice, in Markdown",
        widget=GovTextArea(),
        filters=[_newlines],
        description=(
            "Headings start with #, lists with -, links are written [words](https://...). "
            "HTML and images are not shown."
        ),
        validators=[
            DataRequired(message="Enter the text of the notice"),
            Length(
                max=MAX_SOURCE, message=f"The notice must be {MAX_SOURCE:,} characters or fewer"
            ),
        ],
    )
    summary = TextAreaField(
        "What changed",
        widget=GovTextArea(),
        filters=[_newlines, strip],
        description="A sentence or two for the record, such as “Added the new photo provider”.",
        validators=[
            Optional(),
            Length(
                max=MAX_SUMMARY, message=f"What changed must be {MAX_SUMMARY} characters or fewer"
            ),
        ],
    )
    brief = TextAreaField(
        "The notice in brief (optional)",
        widget=GovTextArea(),
        filters=[_newlines, strip],
        description=(
            f"Up to {notices.MAX_BRIEF_WORDS} words of plain text that families read first, "
            "above the full notice: what you hold, why, who you share it with and their "
            "rights. Start a line with • or - for a list."
        ),
        validators=[
            Optional(),
            Length(
                max=MAX_BRIEF,
                message=f"The notice in brief must be {MAX_BRIEF:,} characters or fewer",
            ),
        ],
    )
    preview = SubmitField("Preview", widget=GovSubmitInput())
    publish = SubmitField("Publish", widget=GovSubmitInput())

    def __init__(self, *args: Any, summary_required: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.summary_required = summary_required

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.summary_required and not self.summary.errors and not self.summary.data:
            self.summary.errors = [*self.summary.errors, "Say what changed in this version"]
            valid = False
        if (
            self.brief.data
            and not self.brief.errors
            and (wrong := notices.brief_problem(self.brief.data))
        ):
            self.brief.errors = [*self.brief.errors, wrong[0].upper() + wrong[1:]]
            valid = False
        return valid


class TranslationForm(PortalForm):
    """A translation of the current version into one of the languages the portal offers. Its
    fields are prefixed ("translation-title"), beside the new version's form on the same
    page; the page's CSRF token is the one every POST carries, checked for every view by
    CSRFProtect, so the form does not look for one under its prefix."""

    class Meta:
        csrf = False

    language = SelectField(
        "Language",
        widget=GovSelect(),
        choices=[],  # set by `_translation_form`: the languages not yet translated
        validate_choice=False,
    )
    title = StringField(
        "Title, in that language",
        widget=GovTextInput(),
        filters=[strip],
        validators=[
            DataRequired(message="Enter the title of the translation"),
            Length(
                max=notices.MAX_TITLE,
                message=f"The title must be {notices.MAX_TITLE} characters or fewer",
            ),
        ],
    )
    source = TextAreaField(
        "The translation, in Markdown",
        widget=GovTextArea(),
        filters=[_newlines],
        description="The whole notice in that language, written as the English one is.",
        validators=[
            DataRequired(message="Enter the text of the translation"),
            Length(
                max=MAX_SOURCE,
                message=f"The translation must be {MAX_SOURCE:,} characters or fewer",
            ),
        ],
    )
    brief = TextAreaField(
        "The notice in brief, in that language (optional)",
        widget=GovTextArea(),
        filters=[_newlines, strip],
        validators=[
            Optional(),
            Length(
                max=MAX_BRIEF,
                message=f"The notice in brief must be {MAX_BRIEF:,} characters or fewer",
            ),
        ],
    )
    version = HiddenField()
    submit = SubmitField("Publish the translation", widget=GovSubmitInput())

    def validate_language(self, field: SelectField) -> None:
        offered = [choice.value for choice in field.choices or [] if choice.value]  # type: ignore[union-attr]
        if not field.data:
            raise ValidationError("Choose the language of the translation")
        if field.data not in offered:
            raise ValidationError("Choose one of the languages listed")


def _translation_form(current: NoticeVersion | None, translated: list[str]) -> TranslationForm:
    """The form of a translation of the current version, offering the languages it has not
    been translated into (`translated`: their tags)."""
    form = TranslationForm(prefix=TRANSLATION)
    form.language.choices = [SelectChoice("", "Choose a language")] + [
        SelectChoice(language.tag, language.english)
        for language in languages.LANGUAGES
        if language.tag != languages.ENGLISH.tag and language.tag not in translated
    ]
    if current is not None and not form.version.data:
        form.version.data = str(current.version)
    return form


def _form(current: NoticeVersion | None, *, posted: bool) -> NoticeForm:
    """The form of a new version: on a GET, filled with the current notice, so that a new
    version starts from the words families have now. What changed is asked from the second
    version on."""
    form = NoticeForm(summary_required=current is not None)
    if not posted and current is not None:
        form.title.data = current.title
        form.source.data = current.source
        form.brief.data = current.brief
    return form


def _page(
    form: NoticeForm,
    *,
    preview: str | None = None,
    preview_brief: str | None = None,
    translation_form: TranslationForm | None = None,
    status: int = 200,
) -> Response:
    school = current_school()
    history = notices.history(school)
    current = history[0][0] if history else None
    translations = notices.translations(school)
    if translation_form is None:
        translated = [t.language for t in translations.get(current.version, [])] if current else []
        translation_form = _translation_form(current, translated)
    same = (
        current is not None
        and form.title.data == current.title
        and form.source.data == current.source
        and current.source_format == FORMAT
        and (form.brief.data or None) == current.brief
    )
    return whole_page(
        "staff/notices/notice.html",
        status=status,
        form=form,
        history=history,
        current=current,
        preview=preview,
        preview_brief=preview_brief,
        same_as_current=same,
        published=confirmation(PUBLISHED),
        translations=translations,
        translation_form=translation_form,
        language_of=languages.get,
    )


@bp.get("/notice", endpoint="notices")
@staff_required(ADMIN)
def notice_page() -> Response:
    current = notices.current(current_school())
    return _page(_form(current, posted=False))


@bp.post("/notice/preview")
@staff_required(ADMIN)
def preview_notice() -> Response:
    form = _form(notices.current(current_school()), posted=True)
    if not form.validate_on_submit():
        return _page(form, status=400)
    brief = notices.render_brief(form.brief.data) if form.brief.data else None
    return _page(form, preview=notices.render(form.source.data or "", FORMAT), preview_brief=brief)


@bp.post("/notice/publish")
@staff_required(ADMIN)
def publish_notice() -> Response:
    school = current_school()
    form = _form(notices.current(school), posted=True)
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        result = notices.publish(
            school,
            title=form.title.data or "",
            source=form.source.data or "",
            source_format=FORMAT,
            summary=form.summary.data,
            brief=form.brief.data,
            published_by=current_staff(),
            require_summary=True,
        )
    except notices.NoticeError as exc:
        field = form._fields.get(exc.field or "") or form.source
        field.errors = [*field.errors, str(exc).capitalize()]
        return _page(form, status=400)
    if not result.created:
        form.source.errors = [
            *form.source.errors,
            f"Nothing was published: the title, text and brief are the same as version "
            f"{result.notice.version}, the current notice. Change the notice first.",
        ]
        return _page(form, status=400)
    flash(
        f"Version {result.notice.version} is published. Families who answered before it "
        "will see that the notice has changed at their next visit.",
        PUBLISHED,
    )
    return redirect(url_for(".notices"))


@bp.post("/notice/translations")
@staff_required(ADMIN)
def publish_notice_translation() -> Response:
    school = current_school()
    current = notices.current(school)
    done = notices.translations(school).get(current.version, []) if current else []
    form = _translation_form(current, [t.language for t in done])
    try:
        version = int(form.version.data or "")
    except ValueError:
        version = 0
    if not form.validate_on_submit() or version < 1:
        if not form.errors:  # no version: a form from no page of ours
            form.language.errors = ["Choose the language of the translation"]
        return _page(_form(current, posted=False), translation_form=form, status=400)
    try:
        translation = notices.publish_translation(
            school,
            version,
            language=form.language.data or "",
            title=form.title.data or "",
            source=form.source.data or "",
            source_format=FORMAT,
            brief=form.brief.data,
            published_by=current_staff(),
        )
    except notices.NoticeError as exc:
        field = {"title": form.title, "source": form.source, "brief": form.brief}.get(
            exc.field or "", form.language
        )
        field.errors = [*field.errors, str(exc)[:1].upper() + str(exc)[1:]]
        return _page(_form(current, posted=False), translation_form=form, status=400)
    name = languages.get(translation.language).english
    flash(
        f"The {name} translation of version {version} is published. Families whose pages are "
        f"in {name} read it from now on.",
        PUBLISHED,
    )
    return redirect(url_for(".notices", _anchor="translations"))
