"""Email addresses: one normal form, and a limit checked before any parsing."""

from __future__ import annotations

import email_validator
import pytest

from portal import emails


def _must_not_parse(*args, **kwargs):
    raise AssertionError("email_validator was called for an address over 254 characters")


def test_an_address_is_lowered_and_trimmed():
    assert emails.normalise("  Alex.Morgan@EXAMPLE.org ") == "alex.morgan@example.org"


@pytest.mark.parametrize("length", [255, 60_000, 4 * 1024 * 1024])
def test_an_address_over_254_characters_is_refused_before_it_is_parsed(monkeypatch, length):
    """RFC 5321's limit, checked first: email_validator never sees a long address, whoever
    passes it (the sign-in form, the roster import, the command line)."""
    monkeypatch.setattr(emails, "validate_email", _must_not_parse)
    monkeypatch.setattr(email_validator, "validate_email", _must_not_parse)
    address = "a" * (length - len("@example.org")) + "@example.org"
    with pytest.raises(emails.InvalidEmail, match="longer than 254 characters") as refused:
        emails.normalise(address)
    assert len(str(refused.value)) < 200, "the message does not repeat the address"


def test_an_address_of_254_characters_is_parsed(monkeypatch):
    seen = []

    def record(candidate, **kwargs):
        seen.append(candidate)
        raise email_validator.EmailNotValidError("the local part is too long")

    monkeypatch.setattr(emails, "validate_email", record)
    address = "a" * (254 - len("@example.org")) + "@example.org"
    with pytest.raises(emails.InvalidEmail):
        emails.normalise(f"  {address}  ")  # the spaces around it do not count
    assert seen == [address]
