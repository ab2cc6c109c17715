"""Privacy notices: publishing immutable versions and rendering them to safe HTML."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import func, select

from .extensions import db
from .models import NoticeVersion, School
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


class NoticeError(ValueError):
    pass


@dataclass(frozen=True)
class PublishResult:
    notice: NoticeVersion
    created: bool


def _demote_headings(source: str) -> str:
    # The page has its own h1 (the notice title); headings in the notice start at h2.
    return re.sub(r"^(#{1,5}) ", lambda m: "#" + m.group(1) + " ", source, flags=re.MULTILINE)


def _style(html: str) -> str:
    """Give the sanitised tags the GOV.UK Frontend classes (nh3 has removed any others)."""
    pattern = r"<(" + "|".join(_CLASSES) + r")(\s[^>]*)?>"
    return re.sub(
        pattern, lambda m: f'<{m.group(1)} class="{_CLASSES[m.group(1)]}"{m.group(2) or ""}>', html
    )


def _text_to_html(source: str) -> str:
    """Plain text: blank lines separate paragraphs; lines starting with a bullet make a list."""
    blocks: list[str] = []
    for block in re.split(r"\n\s*\n", source.strip()):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        items: list[str] = []
        paragraph: list[str] = []

        def flush_paragraph() -> None:
            if paragraph:
                blocks.append("<p>" + "<br>".join(escape(x) for x in paragraph) + "</p>")
                paragraph.clear()

        def flush_items() -> None:
            if items:
                blocks.append("<ul>" + "".join(f"<li>{escape(x)}</li>" for x in items) + "</ul>")
                items.clear()

        for line in lines:
            bullet = next((b for b in BULLETS if line.startswith(b + " ") or line == b), None)
            if bullet is not None:
                flush_paragraph()
                items.append(line[len(bullet) :].strip())
            else:
                flush_items()
                paragraph.append(line)
        flush_paragraph()
        flush_items()
    return "\n".join(blocks)


def render(source: str, source_format: str) -> str:
    """Render a notice to a safe subset of HTML: no raw HTML, no scripts, only safe links."""
    if source_format not in FORMATS:
        raise NoticeError(f"unknown notice format {source_format!r}; use markdown or text")
    if source_format == "markdown":
        html = _markdown.render(_demote_headings(source))
    else:
        html = _text_to_html(source)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "http", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )
    return _style(clean)


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


def publish(school: School, *, title: str, source: str, source_format: str) -> PublishResult:
    """Publish a new immutable version, unless it is identical to the current one."""
    title = title.strip()
    if not title:
        raise NoticeError("a notice needs a title")
    if not source.strip():
        raise NoticeError("the notice is empty")
    if len(title) > 200:
        raise NoticeError("the title is longer than 200 characters")
    body_html = render(source, source_format)
    try:
        latest = current(school)
        if (
            latest is not None
            and latest.title == title
            and latest.source == source
            and latest.source_format == source_format
        ):
            return PublishResult(latest, created=False)
        next_version = (
            db.session.scalar(
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
        )
        db.session.add(notice)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return PublishResult(notice, created=True)
