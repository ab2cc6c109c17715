"""Fixtures: the ledger tests' world (Oak Primary and Elm Academy), and clients signed in as
its guardians."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.client import CheckedClient
from tests.support.web import sign_in_as
from tests.support.world import World


@pytest.fixture
def signed_in(app: Any, world: World) -> Callable[[str], CheckedClient]:
    """`signed_in("ada")`: a new client, signed in as that guardian of the world."""

    def make(name: str) -> CheckedClient:
        client: CheckedClient = app.test_client()
        sign_in_as(client, f"{name}@example.org")
        return client

    return make


@pytest.fixture
def ada(signed_in: Callable[[str], CheckedClient]) -> CheckedClient:
    """Ada: parental responsibility for A and B at Oak, and for X at Elm."""
    return signed_in("ada")
