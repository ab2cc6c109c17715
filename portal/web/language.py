"""The language of each request, and Flask-Babel bound to the app.

Staff pages are English. Anywhere else the language is, in order: the one a signed-in parent
or carer chose (or their school's roster gave them); the one this browser chose before (the
`lang` cookie); the best match for the browser's `Accept-Language`; English.

Templates get `page_language` (a `languages.Language`: tag, direction) and `languages` (what
the chooser offers). Domain code that writes an email in a parent's language calls
`languages.in_language(tag)` around the rendering.
"""

from __future__ import annotations

import re
from typing import Any

from babel.support import NullTranslations
from flask import Flask, current_app, g, has_request_context, request, url_for
from flask.globals import _cv_app
from flask_babel import Babel, Domain, gettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.utils import cached_property
from werkzeug.wrappers import Response

from .. import languages
from ..languages import Language

COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


class PortalBabel(Babel):  # type: ignore[misc]
    """Flask-Babel with our domain (`PortalDomain`, below)."""

    @cached_property
    def domain_instance(self) -> Domain:
        return DOMAIN


babel = PortalBabel()


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=_locale)
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: DOMAIN.get_translations().ugettext(s),
        ngettext=lambda s, p, n: DOMAIN.get_translations().ungettext(s, p, n),
        newstyle=True,
    )
    app.context_processor(_template_context)
    app.add_template_global(chooser_href)
    app.after_request(_vary)


def _vary(response: Response) -> Response:
    """A page in a language chosen from the cookie or the browser's languages says so, so
    that no cache hands a Polish page to someone who asked for Urdu."""
    if "page_language" in g and not request.path.startswith("/staff"):
        response.vary.update(("Accept-Language", "Cookie"))  # one rewrite of the header
    return response


def chooser_href() -> str:
    """The chooser's address, with this page to come back to. A sign-in page's address can
    hold a secret (the link's token): from those, the way back is the sign-in page itself,
    and no query string is ever carried from them."""
    if not has_request_context():
        return url_for("public.choose_language")
    if request.blueprint == "auth":
        back = request.path if request.endpoint in _AUTH_PAGES_WITHOUT_SECRETS else "/sign-in"
    else:
        back = request.full_path.rstrip("?")
    return url_for("public.choose_language", next=back)


_AUTH_PAGES_WITHOUT_SECRETS = {"auth.sign_in", "auth.signed_out", "auth.choose"}


def _template_context() -> dict[str, Any]:
    if not has_request_context():
        return {"page_language": current_language()}
    return {"page_language": page_language(), "languages": offered()}


def offered() -> tuple[Language, ...]:
    return languages.offered(pseudo=current_app.config.get("PORTAL_PSEUDO_LOCALE", False))


def page_language() -> Language:
    """This request's language (chosen once per request)."""
    if "page_language" not in g:
        g.page_language = _choose()
    language: Language = g.page_language
    return language


def current_language() -> Language:
    """The language messages are being translated into now: a forced one (an email being
    written in a parent's language) or, in a request, the page's."""
    forced = g.get(languages.FORCED)
    if forced is not None:
        return forced  # type: ignore[no-any-return]
    return page_language() if has_request_context() else languages.ENGLISH


def _choose() -> Language:
    if request.path.startswith("/staff"):
        return languages.ENGLISH
    pseudo = current_app.config.get("PORTAL_PSEUDO_LOCALE", False)
    try:
        user = current_user._get_current_object()
        signed_in = user.is_authenticated
    except SQLAlchemyError:
        # The database is down: the error page is still shown, in the browser's language.
        signed_in = False
    if signed_in and user.is_guardian and user.guardian is not None:
        chosen = languages.match(user.guardian.language, pseudo=pseudo)
        if chosen is not None and user.guardian.language_chosen:
            return chosen
        from_cookie = languages.match(request.cookies.get(COOKIE), pseudo=pseudo)
        return from_cookie or chosen or _from_browser()
    return languages.match(request.cookies.get(COOKIE), pseudo=pseudo) or _from_browser()


def _from_browser() -> Language:
    """The best offered match for Accept-Language. Punjabi from India (`pa-IN`) is Gurmukhi;
    Punjabi from Pakistan (`pa-PK`) or in Arabic script is not offered, so the browser's next
    language is taken (often Urdu)."""
    best = request.accept_languages.best_match(
        [language.tag for language in languages.LANGUAGES] + ["pa-IN"]
    )
    if best == "pa-IN":
        return languages.BY_TAG["pa-guru"]
    return languages.match(best) or languages.ENGLISH


def join_list(items: list[str]) -> Markup:
    """ "A, B and C" in the current language: "A, B i C", "A، B اور C", each item escaped
    (or kept, if it is markup: a name in <bdi>). Messages of our own rather than CLDR's list
    patterns, which give Welsh "A, B, a(c) C"."""
    escaped = [escape(item) for item in items]
    if len(escaped) < 2:
        return Markup("").join(escaped)
    # The messages are ours (a catalogue's), trusted as Jinja trusts a translation.
    # TRANSLATORS: between two counts or names in a list, as in "Amira, Yusuf and Sara".
    head = Markup(gettext(", ")).join(escaped[:-1])  # noqa: S704
    return Markup(gettext("%(names)s and %(last)s")) % {"names": head, "last": escaped[-1]}  # noqa: S704


def _locale() -> str:
    return current_language().locale


class PortalDomain(Domain):
    """Flask-Babel's domain, with the pseudo-locale translated by `pseudo` instead of a
    catalogue, and each language's catalogue found in one dictionary look-up: a page asks
    for a translation some fifty times, and Flask-Babel's own way there goes through `g`'s
    proxy half a dozen times each."""

    def get_translations(self) -> Any:
        context = _cv_app.get(None)
        if context is None:
            return NullTranslations()
        state = context.g.__dict__
        forced = state.get(languages.FORCED)
        babel_state = state.get("_flask_babel")
        forced_locale = getattr(babel_state, "forced_babel_locale", None)
        if forced is None and forced_locale is not None:
            # Flask-Babel's own force_locale, used directly: its locale.
            key = str(forced_locale)
        else:
            language = forced or state.get("page_language") or current_language()
            if language is languages.PSEUDO:
                return PSEUDO_TRANSLATIONS
            key = language.locale
        # Kept in Flask-Babel's own cache (clearing it clears this too), by locale alone.
        found = self.cache.get(key)
        if found is None:
            # Flask-Babel loads it for get_locale(), which is `key`'s locale here (the
            # request's, or the one forced); the catalogues do not change while the process
            # runs.
            found = self.cache[key] = super().get_translations()
        return found


# What pseudo-translation keeps as it is: placeholders, HTML tags and entities.
_KEEP = re.compile(r"(%\([A-Za-z_]+\)[sd]|%[sd]|\{[A-Za-z_]*\}|<[^>]*>|&[#A-Za-z0-9]+;)")
_ACCENTS = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àƀçđéƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýžÀƁÇĐÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŢÛṼŴẊÝŽ",
)


def pseudo(message: str) -> str:
    """`Your children` → `[Ŷöûŕ çĥîļđŕéñ ·····]`: every letter accented, about 40% longer
    (as German or Polish often are), in brackets that show where a message was cut."""
    if not message.strip():
        return message
    parts = _KEEP.split(message)
    accented = "".join(
        part if index % 2 else part.translate(_ACCENTS) for index, part in enumerate(parts)
    )
    letters = sum(len(part) for index, part in enumerate(parts) if not index % 2)
    return f"[{accented} {'·' * max(1, round(letters * 0.4))}]"


class PseudoTranslations(NullTranslations):  # type: ignore[misc]
    def gettext(self, message: str) -> str:
        return pseudo(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return pseudo(msgid1 if n == 1 else msgid2)

    def pgettext(self, context: str, message: str) -> str:
        return pseudo(message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return pseudo(singular if n == 1 else plural)

    ugettext = gettext
    ungettext = ngettext


PSEUDO_TRANSLATIONS = PseudoTranslations()
DOMAIN = PortalDomain()
