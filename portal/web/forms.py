"""What every form shares: the filters that clean a field before it is validated, validators
whose messages are in the page's language, and GOV.UK widgets whose words are too."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from babel import support
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from govuk_frontend_wtf import wtforms_widgets as govuk
from wtforms.i18n import messages_path
from wtforms.validators import ValidationError

from .. import emails
from .incoming import parse_id


class PortalForm(FlaskForm):
    """The portal's forms: Flask-WTF's, with WTForms' own words (a label made from a field's
    name, a validator's default message) in the page's language from a catalogue read once
    per language and process. Flask-WTF reads and parses that catalogue again in every
    request that translates one of them (about 0.3 ms)."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: Any) -> Any:
            return _wtforms_catalogue(str(get_locale() or "en"))


@functools.lru_cache(maxsize=32)
def _wtforms_catalogue(locale: str) -> support.NullTranslations:
    """WTForms' catalogue for one language (none: its English words as they are)."""
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def strip(value: Any) -> Any:
    """Leading and trailing white space dropped from a text field (other values as they are)."""
    return value.strip() if isinstance(value, str) else value


def optional_id(message: str) -> Callable[[Any, Any], None]:
    """A validator: the field is empty, or an id as `incoming.parse_id` reads one (ASCII digits
    within the database's integer range): "²", "٣" or 2147483648 are refused with `message`."""

    def check(form: Any, field: Any) -> None:
        if field.data not in (None, "") and parse_id(field.data) is None:
            raise ValidationError(message)

    return check


def email_address(example: str) -> Callable[[Any, Any], None]:
    """A validator: the field holds an address `emails.normalise` accepts (the same rule as the
    roster and the commands); `example` shows the right shape in the message."""

    def check(form: Any, field: Any) -> None:
        try:
            emails.normalise(field.data or "")
        except emails.InvalidEmail as exc:
            raise ValidationError(
                _("Enter an email address in the correct format, like %(example)s", example=example)
            ) from exc

    return check


class _ErrorInLanguage:
    """GOV.UK's error message under a field starts with "Error:" for screen readers (their
    macro's default, in English): here it is in the page's language."""

    def map_gov_params(self, field: Any, **kwargs: Any) -> dict[str, Any]:
        params: dict[str, Any] = super().map_gov_params(field, **kwargs)  # type: ignore[misc]
        if params.get("errorMessage"):
            params["errorMessage"]["visuallyHiddenText"] = _("Error")
        return params


class GovTextInput(_ErrorInLanguage, govuk.GovTextInput):
    """govuk_frontend_wtf's text input, its error's prefix in the page's language."""


class GovRadioInput(_ErrorInLanguage, govuk.GovRadioInput):
    """govuk_frontend_wtf's radios, its error's prefix in the page's language."""
