"""Settings, read from the environment (a `.env` file may set them).

The README's "Configuration" table is the contract: PORTAL_ENV, DATABASE_URL, SECRET_KEY,
BASE_URL, MAIL_*, REDIS_URL. Production refuses to start on a development secret or without
BASE_URL.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"  # noqa: S105
DEFAULT_BASE_URL = "http://127.0.0.1:5000"


class ConfigurationError(RuntimeError):
    """The environment asks for something the portal must not run with."""


PROJECT_TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"expected a yes/no value, got {value!r}")


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, got {value!r}") from exc


# A production secret must be hard to guess, not merely long: "a" * 40 is 40 characters and
# no secret at all. Estimated as its length times the Shannon entropy of its characters
# (bits per character, from their frequencies): a random hex key of 64 characters scores
# about 250 bits, a repeated or dictionary-like one far less.
MIN_SECRET_BITS = 128


def secret_bits(secret: str) -> float:
    """A rough upper estimate of the guessing work in `secret`, in bits."""
    if not secret:
        return 0.0
    counts = Counter(secret)
    per_character = -sum((n / len(secret)) * math.log2(n / len(secret)) for n in counts.values())
    return per_character * len(secret)


def normalise_database_url(url: str) -> str:
    """Accept the URLs hosting providers hand out and use psycopg 3 for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def engine_options(database_url: str) -> dict[str, Any]:
    """Connection settings that suit each database."""
    if database_url.startswith("sqlite"):
        # Wait for the single writer instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    # No pre-ping: it cost every request a round trip (";") to find, after a restart of the
    # database, a connection that had died. Without it, the first request that meets a dead
    # connection fails (a 500, "try again"), SQLAlchemy then drops every connection of that
    # pool, and the next request connects afresh (docs/architecture.md, "Per-request cost").
    return {"pool_pre_ping": False, "pool_size": 5, "max_overflow": 5}


def load(environ: Mapping[str, str], instance_path: str) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables."""
    env = environ.get("PORTAL_ENV", "development").strip().lower() or "development"
    if env not in {"development", "production"}:
        raise ConfigurationError(f"PORTAL_ENV must be 'development' or 'production', got {env!r}")
    production = env == "production"

    secret = environ.get("SECRET_KEY", "").strip()
    if production and (not secret or secret == DEVELOPMENT_SECRET):
        raise ConfigurationError(
            "PORTAL_ENV=production needs SECRET_KEY set to a long random value "
            '(for example: python -c "import secrets; print(secrets.token_hex(32))").'
        )
    if production and len(secret) < 32:
        raise ConfigurationError("SECRET_KEY must be at least 32 characters in production.")
    if production and secret_bits(secret) < MIN_SECRET_BITS:
        raise ConfigurationError(
            "SECRET_KEY is too easy to guess (it repeats a few characters): use a random value "
            '(for example: python -c "import secrets; print(secrets.token_hex(32))").'
        )
    redis_url = environ.get("REDIS_URL", "").strip() or None
    if production and redis_url is None:
        raise ConfigurationError(
            "PORTAL_ENV=production needs REDIS_URL: the sign-in rate limits must be shared by "
            "every app server process, or each process would allow the full limit on its own."
        )

    second_factor = environ.get("STAFF_SECOND_FACTOR", "").strip().lower() or "required"
    if second_factor not in {"required", "off"}:
        raise ConfigurationError(
            f"STAFF_SECOND_FACTOR must be 'required' or 'off', got {second_factor!r}"
        )
    if production and second_factor == "off":
        raise ConfigurationError(
            "STAFF_SECOND_FACTOR=off is refused in production: every staff user sees a whole "
            "school's children, so each must pass a second factor."
        )
    second_factor_key = environ.get("SECOND_FACTOR_KEY", "").strip() or None
    if (
        production
        and second_factor_key is not None
        and secret_bits(second_factor_key) < MIN_SECRET_BITS
    ):
        raise ConfigurationError("SECOND_FACTOR_KEY is too easy to guess: use a random value.")

    # Signed checkpoints of each school's ledger (docs/ledger.md, "Signed checkpoints"): the
    # private key file `flask ledger keygen` wrote, and the folder the checkpoints are written
    # to. With both, the daily job signs them and emails each school's DPO.
    checkpoint_key = environ.get("PORTAL_CHECKPOINT_KEY", "").strip() or None
    checkpoint_dir = environ.get("PORTAL_CHECKPOINT_DIR", "").strip() or None
    if (checkpoint_key is None) != (checkpoint_dir is None):
        raise ConfigurationError(
            "PORTAL_CHECKPOINT_KEY and PORTAL_CHECKPOINT_DIR go together: set both to sign "
            "checkpoints every day, or neither."
        )

    base_url = environ.get("BASE_URL", "").strip()
    if production and not base_url:
        raise ConfigurationError(
            "PORTAL_ENV=production needs BASE_URL, the public address used in emailed links."
        )
    base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
    if production and not base_url.startswith("https://"):
        raise ConfigurationError("BASE_URL must start with https:// in production.")

    default_db = "sqlite:///" + str(Path(instance_path) / "portal.sqlite3")
    database_url = normalise_database_url(environ.get("DATABASE_URL", "").strip() or default_db)

    mail_server = environ.get("MAIL_SERVER", "").strip() or None
    if production and mail_server is None:
        raise ConfigurationError(
            "PORTAL_ENV=production needs MAIL_SERVER: without it every email (sign-in links "
            "included) would be written to a folder on the server and its link to the log."
        )

    return {
        "PORTAL_ENV": env,
        "DEBUG": False,
        "TESTING": False,
        "SECRET_KEY": secret or DEVELOPMENT_SECRET,
        "BASE_URL": base_url,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": _int("MAIL_PORT", environ.get("MAIL_PORT"), 587 if mail_server else 25),
        "MAIL_USE_TLS": _flag(environ.get("MAIL_USE_TLS"), default=bool(mail_server)),
        "MAIL_USERNAME": environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": environ.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": environ.get("MAIL_DEFAULT_SENDER") or "consent-portal@localhost",
        "MAIL_OUTBOX_DIR": str(Path(instance_path) / "outbox"),
        "REDIS_URL": redis_url,
        # Rate limits (Flask-Limiter): shared through Redis when REDIS_URL is set (required in
        # production); in memory, per process, for development and tests.
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_KEY_PREFIX": "consent-portal",
        "RATELIMIT_HEADERS_ENABLED": True,
        "SIGN_IN_LIMIT_PER_CLIENT": environ.get("SIGN_IN_LIMIT_PER_CLIENT") or "30 per hour",
        "SIGN_IN_LIMIT_PER_ADDRESS": environ.get("SIGN_IN_LIMIT_PER_ADDRESS") or "5 per 15 minutes",
        "SIGN_IN_CODE_LIMIT_PER_CLIENT": environ.get("SIGN_IN_CODE_LIMIT_PER_CLIENT")
        or "10 per 15 minutes",
        # Staff users' second factor (docs/second-factor.md): required unless switched off
        # outside production; the key that seals authenticator apps' secrets (default:
        # derived from SECRET_KEY); how many wrong codes a user, and a client, may send.
        "STAFF_SECOND_FACTOR": second_factor == "required",
        "SECOND_FACTOR_KEY": second_factor_key,
        "SECOND_FACTOR_LIMIT_PER_USER": environ.get("SECOND_FACTOR_LIMIT_PER_USER")
        or "5 per 15 minutes; 20 per day",
        "SECOND_FACTOR_LIMIT_PER_CLIENT": environ.get("SECOND_FACTOR_LIMIT_PER_CLIENT")
        or "30 per 15 minutes",
        # Passkey options (each holds a challenge on the server), per user.
        "SECOND_FACTOR_OPTIONS_LIMIT": "30 per 15 minutes",
        # Sign-in links and codes, and how long sessions last (minutes).
        "SIGN_IN_LINK_MINUTES": min(
            15, _int("SIGN_IN_LINK_MINUTES", environ.get("SIGN_IN_LINK_MINUTES"), 15)
        ),
        "SIGN_IN_CODE_ATTEMPTS": 5,
        "PARENT_SESSION_IDLE_MINUTES": _int(
            "PARENT_SESSION_IDLE_MINUTES", environ.get("PARENT_SESSION_IDLE_MINUTES"), 60
        ),
        "PARENT_SESSION_MAX_MINUTES": _int(
            "PARENT_SESSION_MAX_MINUTES", environ.get("PARENT_SESSION_MAX_MINUTES"), 12 * 60
        ),
        "STAFF_SESSION_IDLE_MINUTES": _int(
            "STAFF_SESSION_IDLE_MINUTES", environ.get("STAFF_SESSION_IDLE_MINUTES"), 20
        ),
        "STAFF_SESSION_MAX_MINUTES": _int(
            "STAFF_SESSION_MAX_MINUTES", environ.get("STAFF_SESSION_MAX_MINUTES"), 8 * 60
        ),
        "PORTAL_CHECKPOINT_KEY": checkpoint_key,
        "PORTAL_CHECKPOINT_DIR": checkpoint_dir,
        # How long a receipt waits for more changes, so that several make one email.
        "RECEIPT_DELAY_SECONDS": max(
            0, _int("RECEIPT_DELAY_SECONDS", environ.get("RECEIPT_DELAY_SECONDS"), 120)
        ),
        # The pseudo-locale (portal/languages.py, PSEUDO): offered in the language chooser only
        # where this is on (tests, development); never in production.
        "PORTAL_PSEUDO_LOCALE": not production
        and _flag(environ.get("PORTAL_PSEUDO_LOCALE"), default=False),
        # Flask-Babel: the catalogues compiled by `make translations` (docs/languages.md).
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_TRANSLATIONS),
        "BABEL_DEFAULT_LOCALE": "en_GB",
        "BABEL_DEFAULT_TIMEZONE": "Europe/London",
        "TRUSTED_PROXY_HOPS": _int("TRUSTED_PROXY_HOPS", environ.get("TRUSTED_PROXY_HOPS"), 0),
        # Sessions and cookies (docs/security.md, promise 8).
        "SESSION_COOKIE_NAME": "__Host-session" if production else "session",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "WTF_CSRF_TIME_LIMIT": 3600,
        "WTF_CSRF_SSL_STRICT": production,
        "MAX_CONTENT_LENGTH": 5 * 1024 * 1024,
        "SEND_HSTS": production,
    }
