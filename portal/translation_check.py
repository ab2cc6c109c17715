"""`make check-translations` (and CI): every catalogue against the messages in the code.

- A language marked complete (`languages.Language.complete`) must translate every message the
  code and templates hold today, none of them fuzzy.
- In every catalogue, a translation must use exactly the placeholders of its message
  (`%(name)s`): a missing one loses a name from the page, an unknown one breaks it.
- The committed template (translations/messages.pot) must list the code's messages, so that
  translators work from what is there (`make translations` brings it up to date).

Exits 1 listing each problem, 0 when there is none.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from . import languages

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
MAPPING = [
    ("portal/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),
]
PLACEHOLDER = re.compile(r"%\(([A-Za-z_]+)\)[sd]")

MessageId = str | tuple[str, ...]


def _directory(dirname: str) -> bool:
    """Every folder but hidden ones (Babel's default also skips `_*`: our `_partials`)."""
    name = Path(dirname).name
    return not name.startswith(".") and name not in {"node_modules", "static"}


def code_messages() -> set[MessageId]:
    """Every message id the code and the templates hold (a plural as its two forms)."""
    found: set[MessageId] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), MAPPING, keywords=KEYWORDS, options_map={}, directory_filter=_directory
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def _id(message_id: object) -> MessageId:
    return message_id if isinstance(message_id, str) else tuple(message_id)  # type: ignore[arg-type]


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple | list):
        yield from (v for v in value if isinstance(v, str))


def catalogue_problems(
    catalogue: Catalog, expected: set[MessageId], *, complete: bool
) -> list[str]:
    problems: list[str] = []
    translated: dict[MessageId, object] = {}
    for message in catalogue:
        if not message.id:
            continue
        key = _id(message.id)
        if message.string and any(_strings(message.string)):
            wanted = {p for s in _strings(message.id) for p in PLACEHOLDER.findall(s)}
            for text in _strings(message.string):
                if not text:
                    continue
                got = set(PLACEHOLDER.findall(text))
                if got - wanted or (isinstance(message.id, str) and wanted - got):
                    problems.append(
                        f"{_short(key)!r}: the translation's placeholders {sorted(got)} are not "
                        f"the message's {sorted(wanted)}"
                    )
            if message.fuzzy and complete:
                problems.append(f"{_short(key)!r} is fuzzy: check it and remove the fuzzy flag")
            else:
                translated[key] = message.string
    if complete:
        for key in sorted(expected - translated.keys(), key=str):
            problems.append(f"{_short(key)!r} has no translation")
    return problems


def _short(key: MessageId) -> str:
    text = key if isinstance(key, str) else key[0]
    return text if len(text) <= 70 else text[:67] + "..."


def check() -> list[str]:
    expected = code_messages()
    problems: list[str] = []
    template = TRANSLATIONS / "messages.pot"
    with template.open("rb") as handle:
        listed = {_id(m.id) for m in read_po(handle) if m.id}
    missing = expected - listed
    if missing:
        problems.append(
            f"translations/messages.pot lacks {len(missing)} message(s) of the code (first: "
            f"{_short(sorted(missing, key=str)[0])!r}): run `make translations`"
        )
    for language in languages.LANGUAGES[1:]:
        path = TRANSLATIONS / language.locale / "LC_MESSAGES" / "messages.po"
        if not path.exists():
            problems.append(f"{language.english}: {path.relative_to(ROOT)} is missing")
            continue
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=language.locale)
        for problem in catalogue_problems(catalogue, expected, complete=language.complete):
            problems.append(f"{language.english} ({language.tag}): {problem}")
    return problems


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in the translations.", file=sys.stderr)
        return 1
    complete = [language.english for language in languages.LANGUAGES if language.complete]
    print(f"Translations hold: complete in {', '.join(complete)}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
