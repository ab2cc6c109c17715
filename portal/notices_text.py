"""Plain-text privacy notices, structured so that a parent can read them on a phone.

Schools write their notices in a word processor and paste them as plain text: no markup, but
a shape a reader sees at once. This module finds that shape: headings (numbered ones such as
"1. Who we are" or "2.1 Photos", lines in capitals, and short lines with no full stop that
come before body text), lists (lines starting with a bullet, or numbered sentences),
paragraphs (blocks between blank lines) and web and email addresses, which become links whose
text is exactly what was written. Every piece of the school's text is escaped; the only links
made are https, http (a "www." address gets https) and mailto. `portal.notices` sanitises the
result again, gives headings their ids and adds the contents list.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from html import escape

BULLETS = ("•", "·", "◦", "‣", "▪", "-", "*", "o")
MAX_HEADING = 80
# A line this short ends a line of an address or a list of names: the next one is a new line.
SHORT_LINE = 60

_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)(\.|\))?\s+(\S.*)$")
_LINK = re.compile(
    r"(?P<web>\b(?:https?://|www\.)[^\s<>\"]+)"
    r"|(?P<email>\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
    re.IGNORECASE,
)
# A word of three letters or more: a heading has one ("SK9 5AF" is a postcode, not a title).
_WORD = re.compile(r"[^\W\d_]{3}")
# Punctuation that ends a sentence rather than the address it follows.
_TRAILING = ".,;:!?)]}'\"’”"


@dataclass
class _Block:
    kind: str  # "p", "ul", "ol", "h2", "h3"
    lines: list[str] = field(default_factory=list)


def linkify(text: str) -> str:
    """`text` escaped, with its web and email addresses as links; the link text is exactly
    what was written (less the sentence's punctuation after it)."""
    out: list[str] = []
    position = 0
    for match in _LINK.finditer(text):
        written = match.group(0)
        trimmed = written.rstrip(_TRAILING)
        # A closing bracket belongs to the address when it opened one (Wikipedia-style).
        while written[len(trimmed) :].startswith(")") and trimmed.count("(") > trimmed.count(")"):
            trimmed += ")"
        if not trimmed or trimmed.lower() in ("http://", "https://", "www."):
            continue
        if match.group("email"):
            href = "mailto:" + trimmed
        elif trimmed.lower().startswith("www."):
            href = "https://" + trimmed
        else:
            href = trimmed
        out.append(escape(text[position : match.start()]))
        out.append(f'<a href="{escape(href, quote=True)}">{escape(trimmed)}</a>')
        position = match.start() + len(trimmed)
    out.append(escape(text[position:]))
    return "".join(out)


def _bullet_text(line: str) -> str | None:
    """The item's text when `line` starts with a bullet, else None."""
    for bullet in BULLETS:
        if line.startswith(bullet + " ") or line.startswith(bullet + "\t"):
            return line[len(bullet) :].strip()
        if bullet != "o" and line == bullet:
            return ""
    return None


def _capitals(line: str) -> bool:
    """A line in capitals, with a word of three letters or more ("YOUR RIGHTS"; a postcode
    such as "SK9 5AF" is not one)."""
    letters = [c for c in line if c.isalpha()]
    return all(c.isupper() for c in letters) and _WORD.search(line) is not None


def _could_be_heading(line: str) -> bool:
    """Short, no sentence punctuation at its end, no address in it, starts with a capital."""
    if len(line) > MAX_HEADING or not _WORD.search(line) or _LINK.search(line):
        return False
    if line[-1] in ".,;:!?":
        return False
    # "# Title" or "(a) ..." are written as they are; a heading starts with a word or number.
    return line[0].isupper() or line[0].isdigit()


def _numbered(line: str) -> tuple[str, str] | None:
    """(number, rest) for a line starting "1. ", "2.1 " or "3) "; None otherwise."""
    match = _NUMBERED.match(line)
    if match is None:
        return None
    number, dot, rest = match.groups()
    if "." not in number and dot is None:
        return None  # "2018 guidance" is not a numbered line
    return number, rest


def _classify(line: str, previous: str | None, following: str | None) -> tuple[str, str]:
    """What one line is, as (kind, text): a heading, a list item or a line of a paragraph.

    `previous` is the line before in the same block (None at its start); `following` the next
    non-empty line of the notice (None at its end)."""
    numbered = _numbered(line)
    if numbered is not None:
        number, rest = numbered
        if _could_be_heading(line):
            return ("h3" if "." in number.strip(".") else "h2"), line
        return "ol", rest
    bullet = _bullet_text(line)
    if bullet is not None:
        return "ul", bullet
    starts_block = previous is None or previous[-1] in ".!?:"
    if _capitals(line) and len(line) <= MAX_HEADING and starts_block:
        return "h2", line
    if starts_block and _could_be_heading(line) and following is not None and _is_body(following):
        return "h2", line
    return "p", line


def _is_body(line: str) -> bool:
    """Text a heading can stand above: a sentence, a long line, a list item, an address."""
    if _bullet_text(line) is not None or _numbered(line) is not None or _LINK.search(line):
        return True
    # A line starting in lower case goes on with the sentence of the line before it.
    return not _could_be_heading(line) and not _capitals(line) and not line[0].islower()


def _blocks(source: str) -> list[_Block]:
    paragraphs = [
        [line.strip() for line in chunk.splitlines() if line.strip()]
        for chunk in re.split(r"\n\s*\n", source.strip())
    ]
    paragraphs = [lines for lines in paragraphs if lines]
    flat = [line for lines in paragraphs for line in lines]
    blocks: list[_Block] = []
    index = 0
    for lines in paragraphs:
        previous: str | None = None
        current: _Block | None = None
        for line in lines:
            following = flat[index + 1] if index + 1 < len(flat) else None
            kind, text = _classify(line, previous, following)
            index += 1
            previous = line
            if kind in ("h2", "h3"):
                blocks.append(_Block(kind, [text]))
                current = None
                previous = None  # what comes after a heading starts afresh
                continue
            if current is None or current.kind != kind:
                current = _Block(kind)
                blocks.append(current)
            current.lines.append(text)
    return blocks


def _paragraph(lines: list[str]) -> str:
    """One paragraph: a short line (an address, a name) keeps its line break; longer lines
    were wrapped by the editor and are joined with a space."""
    html = linkify(lines[0])
    for before, line in itertools.pairwise(lines):
        html += ("<br>" if len(before) < SHORT_LINE else " ") + linkify(line)
    return f"<p>{html}</p>"


def to_html(source: str) -> str:
    """Structured, escaped HTML of a plain-text notice (headings h2 and h3, no ids yet)."""
    parts: list[str] = []
    for block in _blocks(source):
        if block.kind in ("h2", "h3"):
            parts.append(f"<{block.kind}>{linkify(block.lines[0])}</{block.kind}>")
        elif block.kind in ("ul", "ol"):
            items = "".join(f"<li>{linkify(item)}</li>" for item in block.lines)
            parts.append(f"<{block.kind}>{items}</{block.kind}>")
        else:
            parts.append(_paragraph(block.lines))
    return "\n".join(parts)
