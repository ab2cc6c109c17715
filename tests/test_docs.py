"""The documentation stays true: every file, folder and test it names exists.

docs/ cites the tests that show each promise, and the README and docs/ name modules and
templates; a rename that forgets them fails here instead of leaving a newcomer a dead end.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([*PROJECT.glob("docs/*.md"), PROJECT / "README.md"])
# A path in the repository, as the documents write one: `portal/...`, `tests/...`, ...
PATH = re.compile(
    r"(?<![\w/.-])((?:portal|tests|templates|bench|examples|migrations|static|docs|tools)"
    r"/[\w./<>*-]*[\w/])"
)
TEST_NAME = re.compile(r"\b(test_[a-z0-9_]+)\b")


def _test_functions() -> set[str]:
    names: set[str] = set()
    for file in (PROJECT / "tests").rglob("test_*.py"):
        names.update(re.findall(r"^\s*(?:async\s+)?def (test_\w+)", file.read_text(), re.M))
    return names


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(PROJECT)))
def test_every_path_a_document_names_exists(document):
    text = document.read_text(encoding="utf-8")
    missing = []
    for found in sorted(set(PATH.findall(text))):
        if any(mark in found for mark in "<>*") or "/out/" in found or "node_modules" in found:
            continue  # a pattern (templates/<blueprint>/...), or what a run or install makes
        path = found.rstrip(".")
        if not (PROJECT / path).exists():
            missing.append(path)
    assert missing == [], f"{document.name} names paths that do not exist: {missing}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(PROJECT)))
def test_every_test_a_document_cites_exists(document):
    text = document.read_text(encoding="utf-8")
    known = _test_functions()
    cited = set(TEST_NAME.findall(text))
    files = {Path(name).stem for name in PATH.findall(text)}
    missing = sorted(name for name in cited - known if name not in files)
    assert missing == [], f"{document.name} cites tests that do not exist: {missing}"
