"""References a family can read (portal/references.py): the school's code, the format, and
reading one back however it was typed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal import references
from portal.references import BadReference, Parsed

HASH = "7f3a" + "0" * 60


@pytest.mark.parametrize(
    ("slug", "code"),
    [
        ("riverside-primary", "RP"),
        ("oak-primary", "OP"),
        ("elm-academy", "EA"),
        ("st-marys-ce-primary", "SMCP"),
        ("st-marys-ce-primary-school", "SMCP"),  # four letters at most
        ("oak", "OA"),  # one word: its first two letters
        ("x", "X"),
        ("42nd-street-school", "NSS"),  # a word's first letter, digits skipped
        ("2024", "SC"),  # no letters at all
    ],
)
def test_school_code(slug, code):
    assert references.school_code(slug) == code


def test_reference_format():
    assert references.reference("riverside-primary", 1042, HASH) == "RP-1042-7F3A"
    assert references.reference("oak-primary", 1, "ab" * 32) == "OP-1-ABAB"


@pytest.mark.parametrize(
    "typed",
    [
        "RP-1042-7F3A",
        "rp-1042-7f3a",
        "Rp 1042 7F3a",
        "RP10427F3A",
        "  rp - 1042 - 7f3a  ",
        "RP–1042–7F3A",
        "rp.1042.7f3a",
        "R P 1 0 4 2 7 F 3 A",
        "RP1042-7F3A",
    ],
)
def test_parse_any_case_with_or_without_dashes_or_spaces(typed):
    parsed = references.parse(typed)
    assert parsed == Parsed(code="RP", seq=1042, check="7F3A")
    assert references.matches(parsed, HASH)


def test_parse_without_the_school_code():
    assert references.parse("1042-7f3a") == Parsed(code=None, seq=1042, check="7F3A")
    # The last four characters are always the check, even when they are all digits.
    assert references.parse("RP 1042 1234") == Parsed(code="RP", seq=1042, check="1234")


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "RP",
        "RP-1042",
        "RP-1042-7F3",
        "RP-1042-7F3G",
        "RP-1042-7F3A5B",
        "RP-10x2-7F3A",
        "RPXYZ-1042-7F3A",
        "RP-7F3A",
        "RP-1234567890-7F3A",
        "<script>",
        "RP_1042_7F3A",
        "RP-1042-7F3A; DROP TABLE",
        "RP-104-27F3A",
        "---",
    ],
)
def test_malformed_references_are_refused(typed):
    with pytest.raises(BadReference):
        references.parse(typed)


def test_a_wrong_check_does_not_match():
    parsed = references.parse("RP-1042-7F3B")
    assert not references.matches(parsed, HASH)
    assert references.matches(parsed, "7f3b" + "f" * 60)


@given(
    slug=st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,8}){0,5}", fullmatch=True),
    seq=st.integers(min_value=1, max_value=999_999_999),
    digest=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
)
def test_round_trip(slug, seq, digest):
    written = references.reference(slug, seq, digest)
    for typed in (written, written.lower(), written.replace("-", " "), written.replace("-", "")):
        parsed = references.parse(typed)
        assert (parsed.code, parsed.seq) == (references.school_code(slug), seq)
        assert references.matches(parsed, digest)
