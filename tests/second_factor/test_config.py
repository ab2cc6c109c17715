"""STAFF_SECOND_FACTOR and SECOND_FACTOR_KEY (portal/config.py): the second factor can be
switched off for development, never in production."""

from __future__ import annotations

import pytest

from portal.config import ConfigurationError, load
from portal.second_factor import is_fresh, required
from tests.second_factor.support import sign_in_by_link
from tests.support.factories import make_school, make_staff

# A key as the README says to make one (secrets.token_hex(32)), fixed for the tests.
STRONG = "9f1c2b7e4a6d8f0e3b5c7a9d1e2f4a6c8b0d2e4f6a8c0e2b4d6f8a1c3e5b7d9f"
PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": STRONG,
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "MAIL_SERVER": "smtp.example.org",
    "BASE_URL": "https://consent.example.org",
}


def test_production_requires_the_second_factor_by_default(tmp_path):
    config = load(PRODUCTION, str(tmp_path))
    assert config["STAFF_SECOND_FACTOR"] is True
    assert config["SECOND_FACTOR_KEY"] is None
    assert config["SECOND_FACTOR_LIMIT_PER_USER"] == "5 per 15 minutes; 20 per day"
    assert config["SECOND_FACTOR_LIMIT_PER_CLIENT"] == "30 per 15 minutes"
    required_anyway = load({**PRODUCTION, "STAFF_SECOND_FACTOR": "required"}, str(tmp_path))
    assert required_anyway["STAFF_SECOND_FACTOR"] is True


@pytest.mark.parametrize("value", ["off", "OFF", " Off "])
def test_production_refuses_to_switch_the_second_factor_off(tmp_path, value):
    with pytest.raises(
        ConfigurationError, match="STAFF_SECOND_FACTOR=off is refused in production"
    ):
        load({**PRODUCTION, "STAFF_SECOND_FACTOR": value}, str(tmp_path))


def test_development_may_switch_it_off_and_requires_it_otherwise(tmp_path):
    assert load({"STAFF_SECOND_FACTOR": "off"}, str(tmp_path))["STAFF_SECOND_FACTOR"] is False
    assert load({}, str(tmp_path))["STAFF_SECOND_FACTOR"] is True
    assert load({"STAFF_SECOND_FACTOR": ""}, str(tmp_path))["STAFF_SECOND_FACTOR"] is True


@pytest.mark.parametrize("value", ["no", "false", "0", "optional", "disabled"])
@pytest.mark.parametrize("environment", [{}, PRODUCTION], ids=["development", "production"])
def test_an_unknown_value_is_refused(tmp_path, value, environment):
    """A value that is neither 'required' nor 'off' is a mistake, not a guess."""
    with pytest.raises(ConfigurationError, match="must be 'required' or 'off'"):
        load({**environment, "STAFF_SECOND_FACTOR": value}, str(tmp_path))


def test_second_factor_key_is_read_and_must_be_random_in_production(tmp_path):
    other = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
    config = load({**PRODUCTION, "SECOND_FACTOR_KEY": other}, str(tmp_path))
    assert config["SECOND_FACTOR_KEY"] == other
    with pytest.raises(ConfigurationError, match="SECOND_FACTOR_KEY is too easy to guess"):
        load({**PRODUCTION, "SECOND_FACTOR_KEY": "a" * 64}, str(tmp_path))


def test_the_limits_are_read_from_the_environment(tmp_path):
    config = load(
        {
            "SECOND_FACTOR_LIMIT_PER_USER": "5 per hour",
            "SECOND_FACTOR_LIMIT_PER_CLIENT": "20 per hour",
        },
        str(tmp_path),
    )
    assert config["SECOND_FACTOR_LIMIT_PER_USER"] == "5 per hour"
    assert config["SECOND_FACTOR_LIMIT_PER_CLIENT"] == "20 per hour"


def test_switched_off_staff_pages_open_after_the_link_alone(make_app):
    """In development with STAFF_SECOND_FACTOR=off, the emailed link is enough, and the
    riskiest pages do not ask again."""
    app = make_app(STAFF_SECOND_FACTOR=False)
    with app.app_context():
        assert not required() and is_fresh(None)
        admin = make_staff(make_school(), email="sam.taylor@oak.example.org", role="admin")
        client = app.test_client()
        sign_in_by_link(client, admin.email)
        assert client.get("/staff").status_code == 200
        assert client.get("/staff/exports").status_code == 200
