"""Privacy notices: publishing immutable versions and rendering them to safe HTML.

Operators publish with `flask notice publish`; admins with the staff workspace, where each new
version also says what changed (`summary`) and who published it (`published_by`).

A version is written in English. A school may publish a translation of a version into each
language the portal offers (`publish_translation`), as immutable as the version itself; a
page in that language shows it, and a page in a language without one shows the English with
a line saying so (`shown`; docs/translations-by-schools.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape, unescape

import nh3
from flask_babel import force_locale
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from . import audit_log, languages, notices_text
from .database import writing
from .extensions import db
from .models import NoticeTranslation, NoticeVersion, School, StaffUser
from .text import multi_line_problem, single_line_problem
from .types import utcnow

FORMATS = ("markdown", "text")
BULLETS = ("•", "·", "◦", "‣", "▪", "-", "*")

# Raw HTML in the source is not rendered (html=False); links stay, images do not.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.disable("image")

ALLOWED_TAGS = {
    "p", "br", "h2", "h3", "h4", "ul", "ol", "li", "strong", "em", "a", "blockquote",
    "code", "pre", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, "th": {"scope"}}

_CLASSES = {
    "p": "govuk-body",
    "h2": "govuk-heading-m",
    "h3": "govuk-heading-s",
    "h4": "govuk-heading-s",
    "ul": "govuk-list govuk-list--bullet",
    "ol": "govuk-list govuk-list--number",
    "a": "govuk-link",
    "table": "govuk-table",
}


MAX_TITLE = 200
MAX_BRIEF_WORDS = 300
# A notice with more headings than this, or more words, starts with a list of its contents.
CONTENTS_HEADINGS = 4
CONTENTS_WORDS = 1200
# Ids the page around a notice uses itself; a heading never takes one of them.
_PAGE_IDS = frozenset(
    {"main-content", "contents", "contents-title", "brief", "brief-title", "new-version"}
)


class NoticeError(ValueError):
    """A notice that cannot be published; `field` names what is wrong with it, when one is."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PublishResult:
    notice: NoticeVersion
    created: bool


def _markdown_to_html(source: str) -> str:
    """Render Markdown with its headings one level down, to h2-h4.

    The page has its own h1 (the notice title), so the notice's headings start at h2; the
    deepest levels share h4 rather than fall outside the allowed tags.
    """
    env: dict[str, object] = {}
    tokens = _markdown.parse(source, env)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 4)}"
    return _markdown.renderer.render(tokens, _markdown.options, env)


def _style(html: str) -> str:
    """Give the sanitised tags the GOV.UK Frontend classes (nh3 has removed any others)."""
    pattern = r"<(" + "|".join(_CLASSES) + r")(\s[^>]*)?>"
    return re.sub(
        pattern, lambda m: f'<{m.group(1)} class="{_CLASSES[m.group(1)]}"{m.group(2) or ""}>', html
    )


def _text_to_html(source: str) -> str:
    """Plain text, structured into headings, lists, paragraphs and links (portal.notices_text)."""
    return notices_text.to_html(source)


def slug(text: str) -> str:
    """A heading's anchor: its words in lower case joined by hyphens ("2.1 Who we are" ->
    "2-1-who-we-are"), at most 60 characters; "section" when it has no letters or digits."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)[:60].strip("-") or "section"


_HEADING = re.compile(r"<(h[234])>(.*?)</\1>", re.DOTALL)


def _plain(html: str) -> str:
    """The text of a fragment of sanitised HTML, for a contents entry or an anchor."""
    return unescape(re.sub(r"<[^>]+>", "", html)).strip()


def _with_anchors(html: str, prefix: str = "") -> tuple[str, list[tuple[str, str, str]]]:
    """Give every heading a stable id from its words (the second of the same words gets
    "-2"); returns the HTML and its headings as (tag, id, text)."""
    seen: set[str] = set(_PAGE_IDS)
    headings: list[tuple[str, str, str]] = []

    def anchor(match: re.Match[str]) -> str:
        tag, inner = match.group(1), match.group(2)
        text = _plain(inner)
        base = prefix + slug(text)
        ident, n = base, 1
        while ident in seen:
            n += 1
            ident = f"{base}-{n}"
        seen.add(ident)
        headings.append((tag, ident, text))
        return f'<{tag} id="{ident}">{inner}</{tag}>'

    return _HEADING.sub(anchor, html), headings


def _contents(headings: list[tuple[str, str, str]], title: str, title_lang: str | None) -> str:
    """The "Contents" list: links to the notice's sections, the highest level of heading
    that has more than one (a Markdown notice often has one "#" title above "##" sections).
    `title` is its heading, in the notice's language; `title_lang` the language of that
    heading when it differs from the notice's (English words in a translation)."""
    tags = [tag for tag, _, _ in headings]
    top = next((t for t in ("h2", "h3", "h4") if tags.count(t) > 1), tags[0])
    lang = f' lang="{title_lang}" dir="ltr"' if title_lang else ""
    items = "".join(
        f'<li><a class="govuk-link" href="#{ident}">{escape(text)}</a></li>'
        for tag, ident, text in headings
        if tag == top and text  # a heading with no words ("#" alone) makes no entry
    )
    return (
        '<nav class="portal-notice-contents" aria-labelledby="contents-title">'
        f'<h2 class="govuk-heading-s" id="contents-title"{lang}>{escape(title)}</h2>'
        f'<ol class="govuk-list portal-notice-contents__list">{items}</ol></nav>\n'
    )


LINK_SCHEMES = ("https", "http", "mailto", "tel")


def _only_absolute_links(tag: str, attribute: str, value: str) -> str | None:
    """A link in a notice goes somewhere outside the portal (a web page, an email address, a
    phone number) or to a heading of the notice itself; anything else ("%3Ehttp://a/", a path
    on the portal) is not a link a school means to publish, and loses its href."""
    if tag == "a" and attribute == "href":
        if value.startswith("#") or value.lower().startswith(
            tuple(f"{scheme}:" for scheme in LINK_SCHEMES)
        ):
            return value
        return None
    return value


def render(source: str, source_format: str, *, language: str = "en") -> str:
    """Render a notice to a safe subset of HTML: no raw HTML, no scripts, only safe links.
    `language` is the notice's (a translation's tag): the heading of its contents list is
    written in it when the portal's messages have it, and marked as English when not."""
    if source_format not in FORMATS:
        raise NoticeError(
            f"unknown notice format {source_format!r}; use markdown or text", field="source_format"
        )
    html = _markdown_to_html(source) if source_format == "markdown" else _text_to_html(source)
    anchored, headings = _with_anchors(_clean(html))
    long = len(headings) > CONTENTS_HEADINGS or len(source.split()) > CONTENTS_WORDS
    if not (long and headings):
        return _style(anchored)
    title, title_lang = _contents_title(language)
    return _contents(headings, title, title_lang) + _style(anchored)


def _contents_title(language: str) -> tuple[str, str | None]:
    """The contents list's heading in `language`, and "en" when the portal's messages have
    no translation of it yet (the heading then stays English, and says so)."""
    found = languages.match(language)
    if found is None or found.tag == "en":
        return "Contents", None
    with force_locale(found.locale):
        title = _("Contents")
    return title, "en" if title == "Contents" else None


def render_brief(text: str) -> str:
    """The HTML of the notice in brief: plain text structured as a notice is, its headings
    one level down (they sit below the page's "The notice in brief" heading), their ids
    starting "brief-" so that they never clash with the full notice's."""
    html = re.sub(
        r"<(/?)h([23])>",
        lambda m: f"<{m.group(1)}h{int(m.group(2)) + 1}>",
        _clean(_text_to_html(text)),
    )
    return _style(_with_anchors(html, prefix="brief-")[0])


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(LINK_SCHEMES),
        link_rel="noopener noreferrer",
        attribute_filter=_only_absolute_links,
    )


def brief_problem(brief: str) -> str | None:
    """Why `brief` cannot be the notice in brief, or None when it can."""
    if wrong := multi_line_problem(brief):
        return f"the notice in brief {wrong}"
    words = len(brief.split())
    if words > MAX_BRIEF_WORDS:
        return f"the notice in brief has {words} words; keep it to {MAX_BRIEF_WORDS} or fewer"
    return None


def newlines(text: str) -> str:
    """Line breaks as LF: browsers send a textarea's as CRLF, a file read as text has LF, and
    the same words must compare equal."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def format_for_filename(filename: str) -> str:
    return "text" if filename.lower().endswith(".txt") else "markdown"


def current(school: School) -> NoticeVersion | None:
    return db.session.scalars(
        select(NoticeVersion)
        .where(NoticeVersion.school_id == school.id)
        .order_by(NoticeVersion.version.desc())
        .limit(1)
    ).first()


def versions(school: School) -> list[NoticeVersion]:
    return list(
        db.session.scalars(
            select(NoticeVersion)
            .where(NoticeVersion.school_id == school.id)
            .order_by(NoticeVersion.version.desc())
        )
    )


def get_version(school: School, version: int) -> NoticeVersion | None:
    return db.session.scalars(
        select(NoticeVersion).where(
            NoticeVersion.school_id == school.id, NoticeVersion.version == version
        )
    ).first()


def history(school: School) -> list[tuple[NoticeVersion, str | None]]:
    """Every version, newest first, each with the name (or email) of the staff user who
    published it; None when an operator published it with the command line."""
    rows = db.session.execute(
        select(NoticeVersion, StaffUser.name, StaffUser.email)
        .outerjoin(
            StaffUser,
            (StaffUser.id == NoticeVersion.published_by_id)
            & (StaffUser.school_id == NoticeVersion.school_id),
        )
        .where(NoticeVersion.school_id == school.id)
        .order_by(NoticeVersion.version.desc())
    ).all()
    return [(notice, name or email or None) for notice, name, email in rows]


def publish(
    school: School,
    *,
    title: str,
    source: str,
    source_format: str,
    summary: str | None = None,
    brief: str | None = None,
    published_by: StaffUser | None = None,
    require_summary: bool = False,
) -> PublishResult:
    """Publish a new immutable version, unless it is identical to the current one.

    `summary` says what changed since the version before; with `require_summary` it must be
    given for every version but the first. `published_by` is the staff user who published
    it (none for an operator): the version records them and the staff audit log gets a
    `notice.publish` entry in the same transaction. `brief` is "the notice in brief", plain
    text of at most MAX_BRIEF_WORDS words that families read before the full notice.
    """
    title = title.strip()
    source = newlines(source)
    summary = newlines(summary or "").strip() or None
    brief = newlines(brief or "").strip() or None
    if not title:
        raise NoticeError("a notice needs a title", field="title")
    if not source.strip():
        raise NoticeError("the notice is empty", field="source")
    if len(title) > MAX_TITLE:
        raise NoticeError(f"the title is longer than {MAX_TITLE} characters", field="title")
    if wrong := single_line_problem(title):
        raise NoticeError(f"the title {wrong}", field="title")
    if brief is not None and (wrong := brief_problem(brief)):
        raise NoticeError(wrong, field="brief")
    body_html = render(source, source_format)
    brief_html = render_brief(brief) if brief is not None else None
    # Publications of one school are serialised (SQLite: its write lock, taken first;
    # PostgreSQL: a lock on the school's row that does not hold up inserts referring to it),
    # so two admins cannot both take the next version number.
    with writing() as session:
        session.execute(
            select(School.id).where(School.id == school.id).with_for_update(key_share=True)
        )
        latest = current(school)
        if (
            latest is not None
            and latest.title == title
            and latest.source == source
            and latest.source_format == source_format
            and latest.brief == brief
        ):
            return PublishResult(latest, created=False)  # the commit ends the lock
        if require_summary and latest is not None and summary is None:
            raise NoticeError(f"say what changed since version {latest.version}", field="summary")
        next_version = (
            session.scalar(
                select(func.max(NoticeVersion.version)).where(NoticeVersion.school_id == school.id)
            )
            or 0
        ) + 1
        notice = NoticeVersion(
            school_id=school.id,
            version=next_version,
            title=title,
            source=source,
            source_format=source_format,
            body_html=body_html,
            published_at=utcnow(),
            summary=summary,
            brief=brief,
            brief_html=brief_html,
            published_by_id=published_by.id if published_by is not None else None,
        )
        session.add(notice)
        if published_by is not None:
            session.flush()
            audit_log.record(
                published_by,
                "notice.publish",
                school_id=school.id,
                detail={"version": next_version, "title": title},
                now=notice.published_at,
            )
    return PublishResult(notice, created=True)


# --- translations ----------------------------------------------------------------------------


def _language_for_translation(tag: str) -> languages.Language:
    """The offered language a translation is into: NoticeError for English (the version's
    own language) and for a language the portal does not offer."""
    found = languages.match(tag)
    if found is not None and found.tag == languages.ENGLISH.tag:
        raise NoticeError(
            "the notice's own version is in English: a translation is into another language",
            field="language",
        )
    if found is None:
        offered = ", ".join(lang.tag for lang in languages.LANGUAGES if lang.tag != "en")
        raise NoticeError(
            f"{tag!r} is not a language the portal offers; use one of {offered}",
            field="language",
        )
    return found


def _already_translated(version: int, language: languages.Language) -> NoticeError:
    return NoticeError(
        f"version {version} already has a translation into {language.english}, and a "
        "published translation cannot change: to change it, publish a new version of the "
        "notice and translate that",
        field="language",
    )


def publish_translation(
    school: School,
    version: int,
    *,
    language: str,
    title: str,
    source: str,
    source_format: str,
    brief: str | None = None,
    published_by: StaffUser | None = None,
) -> NoticeTranslation:
    """Publish the translation of the school's notice version `version` into `language` (an
    offered language, not English), rendered as a version is (`render`, `render_brief`),
    with its own title and optional brief. Immutable once published: one per version and
    language. NoticeError for English, a language not offered, a version that does not
    exist, a second translation into the same language, or a title, text or brief a version
    would be refused for. `published_by` (none for an operator) gets a `notice.translate`
    entry in the staff audit log, in the same transaction."""
    found = _language_for_translation(language)
    title = title.strip()
    source = newlines(source)
    brief = newlines(brief or "").strip() or None
    if not title:
        raise NoticeError("a translation needs a title", field="title")
    if len(title) > MAX_TITLE:
        raise NoticeError(f"the title is longer than {MAX_TITLE} characters", field="title")
    if wrong := single_line_problem(title):
        raise NoticeError(f"the title {wrong}", field="title")
    if not source.strip():
        raise NoticeError("the translation is empty", field="source")
    if brief is not None and (wrong := brief_problem(brief)):
        raise NoticeError(wrong, field="brief")
    body_html = render(source, source_format, language=found.tag)
    brief_html = render_brief(brief) if brief is not None else None
    try:
        with writing() as session:
            # One publication of a school's notice at a time (as `publish`).
            session.execute(
                select(School.id).where(School.id == school.id).with_for_update(key_share=True)
            )
            notice = get_version(school, version)
            if notice is None:
                raise NoticeError(f"{school.name} has no notice version {version}", field="version")
            if translation_of(notice, found.tag) is not None:
                raise _already_translated(version, found)
            translation = NoticeTranslation(
                school_id=school.id,
                notice_version_id=notice.id,
                language=found.tag,
                title=title,
                source=source,
                source_format=source_format,
                body_html=body_html,
                brief=brief,
                brief_html=brief_html,
                published_at=utcnow(),
                published_by_id=published_by.id if published_by is not None else None,
            )
            session.add(translation)
            session.flush()
            if published_by is not None:
                audit_log.record(
                    published_by,
                    "notice.translate",
                    school_id=school.id,
                    detail={"version": version, "language": found.tag, "title": title},
                    now=translation.published_at,
                )
    except IntegrityError as exc:
        # Two translations into the same language at once: the second meets the unique
        # constraint (SQLite serialises writers, so this is PostgreSQL's way).
        raise _already_translated(version, found) from exc
    return translation


def translation_of(notice: NoticeVersion, language: str) -> NoticeTranslation | None:
    """The translation of this version into `language` (a stored tag), if published."""
    return db.session.scalars(
        select(NoticeTranslation).where(
            NoticeTranslation.school_id == notice.school_id,
            NoticeTranslation.notice_version_id == notice.id,
            NoticeTranslation.language == language,
        )
    ).first()


def translations(school: School) -> dict[int, list[NoticeTranslation]]:
    """Every translation of the school's notice, by the version number it translates, each
    version's in the order the portal offers its languages."""
    found: dict[int, list[NoticeTranslation]] = {}
    rows = db.session.execute(
        select(NoticeVersion.version, NoticeTranslation)
        .join(NoticeVersion, NoticeVersion.id == NoticeTranslation.notice_version_id)
        .where(NoticeTranslation.school_id == school.id)
    ).all()
    for version, translation in sorted(
        rows, key=lambda row: (row[0], languages.position(row[1].language))
    ):
        found.setdefault(version, []).append(translation)
    return found


@dataclass(frozen=True)
class ShownNotice:
    """What a page in one language shows of a notice version: its translation into that
    language when the school published one, otherwise the English version, with `fallback`
    true when the page is not in English."""

    notice: NoticeVersion
    title: str
    body_html: str
    brief_html: str | None
    language: str  # the BCP 47 tag of what is shown: "en", or the translation's
    fallback: bool  # English shown on a page in another language: the school has no translation
    translation: NoticeTranslation | None = None


def shown(notice: NoticeVersion, language: str | None) -> ShownNotice:
    """The notice version as a page in `language` (a BCP 47 tag) shows it. One query, none
    for an English page."""
    page = languages.get(language)
    if page.tag != languages.ENGLISH.tag:
        translation = translation_of(notice, page.tag)
        if translation is not None:
            return ShownNotice(
                notice,
                translation.title,
                translation.body_html,
                translation.brief_html,
                translation.language,
                fallback=False,
                translation=translation,
            )
    return ShownNotice(
        notice,
        notice.title,
        notice.body_html,
        notice.brief_html,
        languages.ENGLISH.tag,
        fallback=page.tag != languages.ENGLISH.tag,
    )
