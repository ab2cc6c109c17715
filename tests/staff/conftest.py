"""Fixtures: the ledger tests' world (Oak Primary and Elm Academy) with a staff user of each
role at Oak and an admin at Elm, and clients signed in as them.

Oak: office@oak.example (staff), admin@oak.example (admin), marketing@oak.example
(marketing). Elm: office@elm.example (staff), admin@elm.example (admin).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.client import CheckedClient
from tests.support.factories import make_staff
from tests.support.web import sign_in_as
from tests.support.world import World, build_world


@pytest.fixture
def world(app: Any) -> World:
    built: World = build_world()
    make_staff(built.oak.school, email="admin@oak.example", role="admin", name="Dana Okafor")
    make_staff(built.oak.school, email="marketing@oak.example", role="marketing", name="Morgan Lee")
    make_staff(built.elm.school, email="admin@elm.example", role="admin", name="Eli Admin")
    return built


@pytest.fixture
def staff_client(app: Any, world: World) -> Callable[[str], CheckedClient]:
    """`staff_client("admin@oak.example")`: a new client signed in as that staff user."""

    def make(email: str) -> CheckedClient:
        client: CheckedClient = app.test_client()
        sign_in_as(client, email, home="/staff")
        return client

    return make


@pytest.fixture
def office(staff_client: Callable[[str], CheckedClient]) -> CheckedClient:
    return staff_client("office@oak.example")


@pytest.fixture
def admin(staff_client: Callable[[str], CheckedClient]) -> CheckedClient:
    return staff_client("admin@oak.example")


@pytest.fixture
def marketer(staff_client: Callable[[str], CheckedClient]) -> CheckedClient:
    return staff_client("marketing@oak.example")


@pytest.fixture
def elm_admin(staff_client: Callable[[str], CheckedClient]) -> CheckedClient:
    return staff_client("admin@elm.example")
