from __future__ import annotations

import pytest

from portal import create_app
from portal.config import DEVELOPMENT_SECRET, ConfigurationError, load, normalise_database_url

# A key as the README says to make one (secrets.token_hex(32)), fixed for the tests.
STRONG = "9f1c2b7e4a6d8f0e3b5c7a9d1e2f4a6c8b0d2e4f6a8c0e2b4d6f8a1c3e5b7d9f"
REDIS = "redis://127.0.0.1:6379/0"
PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": STRONG,
    "REDIS_URL": REDIS,
    "MAIL_SERVER": "smtp.example.org",
}


def test_defaults_are_the_embedded_development_setup(tmp_path):
    config = load({}, str(tmp_path))
    assert config["PORTAL_ENV"] == "development"
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/portal.sqlite3"
    assert config["SECRET_KEY"] == DEVELOPMENT_SECRET
    assert config["BASE_URL"] == "http://127.0.0.1:5000"
    assert config["MAIL_SERVER"] is None
    assert config["MAIL_OUTBOX_DIR"] == f"{tmp_path}/outbox"
    assert config["REDIS_URL"] is None
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_every_documented_variable_is_read(tmp_path):
    config = load(
        {
            "DATABASE_URL": "postgres://u:p@db.example:5432/portal",
            "SECRET_KEY": STRONG,
            "BASE_URL": "https://consent.example.org/",
            "MAIL_SERVER": "smtp.example.org",
            "MAIL_PORT": "2525",
            "MAIL_USE_TLS": "no",
            "MAIL_USERNAME": "portal",
            "MAIL_PASSWORD": "pw",
            "MAIL_DEFAULT_SENDER": "consent@example.org",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
        str(tmp_path),
    )
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5432/portal"
    assert config["SECRET_KEY"] == STRONG
    assert config["BASE_URL"] == "https://consent.example.org"
    assert (config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_USE_TLS"]) == (
        "smtp.example.org",
        2525,
        False,
    )
    assert config["MAIL_USERNAME"] == "portal" and config["MAIL_PASSWORD"] == "pw"
    assert config["MAIL_DEFAULT_SENDER"] == "consent@example.org"
    assert config["REDIS_URL"] == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"PORTAL_ENV": "production", "BASE_URL": "https://x.example"}, "SECRET_KEY"),
        (
            {**PRODUCTION, "SECRET_KEY": "a" * 40, "BASE_URL": "https://x.example"},
            "too easy to guess",
        ),
        (
            {**PRODUCTION, "SECRET_KEY": "abcd" * 12, "BASE_URL": "https://x.example"},
            "too easy to guess",
        ),
        (
            {**PRODUCTION, "REDIS_URL": "", "BASE_URL": "https://x.example"},
            "REDIS_URL",
        ),
        (
            {**PRODUCTION, "MAIL_SERVER": "", "BASE_URL": "https://x.example"},
            "MAIL_SERVER",
        ),
        (
            {
                "PORTAL_ENV": "production",
                "SECRET_KEY": DEVELOPMENT_SECRET,
                "BASE_URL": "https://x.example",
            },
            "SECRET_KEY",
        ),
        (
            {"PORTAL_ENV": "production", "SECRET_KEY": "short", "BASE_URL": "https://x.example"},
            "at least 32",
        ),
        (PRODUCTION, "BASE_URL"),
        ({**PRODUCTION, "BASE_URL": "http://x"}, "https"),
        ({"PORTAL_ENV": "staging"}, "PORTAL_ENV"),
        ({"MAIL_PORT": "twenty-five"}, "MAIL_PORT"),
        ({"MAIL_USE_TLS": "perhaps"}, "yes/no"),
    ],
)
def test_unsafe_or_malformed_settings_refuse_to_start(tmp_path, environ, message):
    with pytest.raises(ConfigurationError, match=message):
        load(environ, str(tmp_path))


def test_production_refuses_to_create_the_app_with_the_development_secret(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("BASE_URL", "https://consent.example.org")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError):
        create_app()


def test_production_cookies_are_secure_and_host_prefixed(tmp_path):
    config = load(
        {**PRODUCTION, "BASE_URL": "https://c.example"},
        str(tmp_path),
    )
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SEND_HSTS"] is True


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://a@h/db", "postgresql+psycopg://a@h/db"),
        ("postgresql://a@h/db", "postgresql+psycopg://a@h/db"),
        ("postgresql+psycopg://a@h/db", "postgresql+psycopg://a@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_use_psycopg_3(given, expected):
    assert normalise_database_url(given) == expected


def test_hsts_is_sent_in_production_only(make_app):
    development = make_app()
    assert "Strict-Transport-Security" not in development.test_client().get("/").headers
    production = make_app(SEND_HSTS=True)
    assert "max-age=" in production.test_client().get("/").headers["Strict-Transport-Security"]


def test_production_shares_its_rate_limits_through_redis(tmp_path):
    config = load({**PRODUCTION, "BASE_URL": "https://c.example"}, str(tmp_path))
    assert config["RATELIMIT_STORAGE_URI"] == REDIS


def test_a_random_key_counts_as_strong_and_a_repeated_one_does_not():
    import secrets

    from portal.config import MIN_SECRET_BITS, secret_bits

    assert secret_bits(secrets.token_hex(32)) > MIN_SECRET_BITS
    assert secret_bits(secrets.token_urlsafe(32)) > MIN_SECRET_BITS
    assert secret_bits("a" * 40) == 0
    assert secret_bits("ab" * 20) < MIN_SECRET_BITS


def test_gunicorn_keeps_its_control_socket_in_this_deployment(monkeypatch):
    """Two deployments on one host must not share gunicorn's per-user control socket."""
    import runpy
    from pathlib import Path

    project = Path(__file__).resolve().parent.parent
    monkeypatch.delenv("GUNICORN_CONTROL_SOCKET", raising=False)
    settings = runpy.run_path(str(project / "gunicorn.conf.py"))
    assert Path(settings["control_socket"]) == project / "instance" / "gunicorn.ctl"
    assert settings["control_socket_mode"] == 0o600
    monkeypatch.setenv("GUNICORN_CONTROL_SOCKET", "/run/portal-a/gunicorn.ctl")
    assert runpy.run_path(str(project / "gunicorn.conf.py"))["control_socket"] == (
        "/run/portal-a/gunicorn.ctl"
    )
