"""The portal's forms (portal/web/forms.py): WTForms' own words in the page's language, from a
catalogue read once per language."""

from __future__ import annotations

from babel import support
from flask_babel import force_locale
from wtforms import StringField
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired

from portal.web.forms import PortalForm


class NameForm(PortalForm):
    class Meta:
        csrf = False

    name = StringField(validators=[DataRequired()])


def required_message(locale: str) -> str:
    with force_locale(locale):
        form = NameForm()
        assert not form.validate()
        return str(form.name.errors[0])


def test_wtforms_words_are_in_the_pages_language(app):
    polish = support.Translations.load(messages_path(), ["pl"], domain="wtforms")
    with app.test_request_context("/", method="POST", data={}):
        english = required_message("en")
        in_polish = required_message("pl")
    assert english == "This field is required."
    assert in_polish == polish.gettext("This field is required.") != english


def test_each_languages_catalogue_is_read_once_and_kept(app):
    with app.test_request_context("/"), force_locale("pl"):
        first = NameForm().meta.get_translations(None)
    with app.test_request_context("/"), force_locale("pl"):
        again = NameForm().meta.get_translations(None)
    with app.test_request_context("/"), force_locale("cy"):
        welsh = NameForm().meta.get_translations(None)
    assert again is first
    assert welsh is not first
    assert welsh.gettext("This field is required.") != "This field is required."
