"""Fixtures: every test gets its own database, built by the real migrations.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set. The migrations run once per
session into a template (a file for SQLite, a template database for PostgreSQL) that each
test copies, so every test starts from the migrated schema and nothing else.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy.engine import make_url

from portal import create_app
from portal.config import normalise_database_url
from portal.extensions import db
from tests.support.client import CheckedClient
from tests.support.world import World, build_world

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip() or None
IN_CI = bool(os.environ.get("CI"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    if TEST_DATABASE_URL:
        where = make_url(normalise_database_url(TEST_DATABASE_URL))
        return [f"database: PostgreSQL at {where.host}:{where.port} (TEST_DATABASE_URL)"]
    return ["database: SQLite (set TEST_DATABASE_URL to run on PostgreSQL too)"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests run in the PostgreSQL pass; on SQLite they are deselected."""
    if TEST_DATABASE_URL:
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("postgres") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def base_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": "http://localhost",
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "PORTAL_PSEUDO_LOCALE": True,
        "SERVER_NAME": None,
    }


def _migrate(url: str, tmp_path: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(base_config(url, tmp_path))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()


class _Postgres:
    """Create and drop databases on the PostgreSQL server named by TEST_DATABASE_URL."""

    def __init__(self, url: str):
        self.url = make_url(normalise_database_url(url))
        self.prefix = f"{self.url.database}_{os.getpid()}"

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(
            host=self.url.host,
            port=self.url.port or 5432,
            user=self.url.username,
            password=self.url.password,
            dbname=self.url.database,
            autocommit=True,
        )

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("template")
    if TEST_DATABASE_URL:
        pg = _Postgres(TEST_DATABASE_URL)
        name = f"{pg.prefix}_template"
        url = pg.create(name)
        _migrate(url, tmp)
        yield {"kind": "postgresql", "pg": pg, "name": name}
        pg.drop(name)
    else:
        path = tmp / "template.sqlite3"
        _migrate(f"sqlite:///{path}", tmp)
        yield {"kind": "sqlite", "path": path}


@pytest.fixture
def database_url(database_template: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    if database_template["kind"] == "postgresql":
        pg: _Postgres = database_template["pg"]
        name = f"{pg.prefix}_{uuid.uuid4().hex[:10]}"
        yield pg.create(name, template=database_template["name"])
        pg.drop(name)
    else:
        path = tmp_path / "portal.sqlite3"
        shutil.copyfile(database_template["path"], path)
        yield f"sqlite:///{path}"


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Build an app on this test's database, with optional overrides."""
    made: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        app = create_app({**base_config(database_url, tmp_path), **overrides})
        app.test_client_class = CheckedClient
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Any) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> CheckedClient:
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def is_postgres(database_template: dict[str, Any]) -> bool:
    return database_template["kind"] == "postgresql"


@pytest.fixture
def world(app: Flask) -> World:
    """Oak Primary and Elm Academy (`tests.support.world`): three pupils and five guardians at
    Oak, one pupil at Elm whose guardian also has two children at Oak, a staff user at each."""
    return build_world()
