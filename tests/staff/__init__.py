"""Tests of the staff workspace over HTTP (the staff browser test is in tests/browser)."""
