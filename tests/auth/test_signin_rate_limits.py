"""Rate limits on asking for links and typing codes (docs/security.md, promises 2 and 6).

In one process the limits are counted in memory. With Redis, two app servers share the
counts: that is tested with two real server processes, because the portal's Flask-Limiter
object is global to a process and two apps in one process would share it whatever the
storage (so they could not show that Redis does the sharing).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import base_config
from tests.support.client import csrf_token
from tests.support.mail import ask_for_link, sign_in_requests

IN_CI = bool(os.environ.get("CI"))
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _client(app, address="127.0.0.1"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _ask(client, address, token=None):
    token = token or csrf_token(client.get("/sign-in"))
    with client.post("/sign-in", data={"email": address, "csrf_token": token}) as response:
        pass
    return response


def assert_too_many_requests(response):
    assert response.status_code == 429
    assert "<h1" in response.text and "Too many requests" in response.text
    assert "Please wait a few minutes and try again" in response.text
    assert "Retry-After" in response.headers


def test_links_for_one_address_are_limited_whoever_asks(make_app, family):
    app = make_app(SIGN_IN_LIMIT_PER_ADDRESS="2 per hour")
    with app.app_context():
        first, second, third = (_client(app, f"10.0.0.{n}") for n in (1, 2, 3))
        assert _ask(first, family.email).status_code == 302
        # The same address however it is typed.
        assert _ask(second, "  ALEX.Morgan@example.org").status_code == 302
        assert_too_many_requests(_ask(third, family.email))
        assert len(sign_in_requests()) == 2
        # Another address is not affected.
        assert _ask(third, "someone.else@example.org").status_code == 302


def test_links_asked_for_by_one_client_are_limited(make_app, family):
    app = make_app(SIGN_IN_LIMIT_PER_CLIENT="2 per hour")
    with app.app_context():
        client = _client(app, "10.0.1.1")
        assert _ask(client, "one@example.org").status_code == 302
        assert _ask(client, "two@example.org").status_code == 302
        refused = _ask(client, family.email)
        assert_too_many_requests(refused)
        assert sign_in_requests() == []
        # A form that does not validate still counts: the limit is on asking at all.
        fresh_client = _client(app, "10.0.1.1")
        assert_too_many_requests(_ask(fresh_client, "not an address"))
        # Another client is not affected.
        assert _ask(_client(app, "10.0.1.2"), family.email).status_code == 302


def test_codes_typed_by_one_client_are_limited(make_app, family):
    app = make_app(SIGN_IN_CODE_LIMIT_PER_CLIENT="2 per hour")
    with app.app_context():
        client = _client(app, "10.0.2.1")
        ask_for_link(client, family.email)
        page = client.get("/sign-in/check-your-email")
        for _ in range(2):
            response = client.post(
                "/sign-in/code", data={"code": "000000", "csrf_token": csrf_token(page)}
            )
            assert response.status_code == 400
        response = client.post(
            "/sign-in/code", data={"code": "000000", "csrf_token": csrf_token(page)}
        )
        assert_too_many_requests(response)
        (row,) = sign_in_requests()
        assert row.code_attempts <= 2


def test_the_default_limits_are_set(app):
    config = app.config
    assert config["SIGN_IN_LIMIT_PER_CLIENT"] == "30 per hour"
    assert config["SIGN_IN_LIMIT_PER_ADDRESS"] == "5 per 15 minutes"
    assert config["SIGN_IN_CODE_LIMIT_PER_CLIENT"] == "10 per 15 minutes"


def test_the_limit_page_is_readable_with_htmx(make_app, family):
    app = make_app(SIGN_IN_LIMIT_PER_ADDRESS="1 per hour")
    with app.app_context():
        client = _client(app)
        _ask(client, family.email)
        token = csrf_token(client.get("/sign-in"))
        response = client.post(
            "/sign-in",
            data={"email": family.email, "csrf_token": token},
            headers={"HX-Request": "true", "HX-Boosted": "true"},
        )
        assert_too_many_requests(response)


# --- shared through Redis between two servers ----------------------------------------------

SERVER = """
import json, sys
from werkzeug.serving import make_server
from portal import create_app

app = create_app(json.loads(sys.argv[1]))
server = make_server("127.0.0.1", 0, app, threaded=False)
print(server.server_port, flush=True)
server.serve_forever()
"""


@pytest.fixture
def redis_url():
    import redis

    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2) as connection:
            connection.ping()
    except redis.exceptions.RedisError as exc:
        reason = f"Redis is not reachable at {REDIS_URL} ({exc}); set TEST_REDIS_URL"
        if IN_CI:
            pytest.fail(f"{reason}. CI is set, so the shared rate-limit test must run", False)
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url):
    import redis

    prefix = f"test-{uuid.uuid4().hex}"
    yield prefix
    with redis.Redis.from_url(redis_url) as connection:
        for key in connection.scan_iter(match=f"*/{prefix}/*"):
            connection.delete(key)


@pytest.fixture
def two_servers(database_url, tmp_path, redis_url, redis_prefix):
    """Two app servers, each its own process, sharing the database and Redis."""
    config = {
        **base_config(database_url, tmp_path),
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": redis_prefix,
        "SIGN_IN_LIMIT_PER_ADDRESS": "2 per hour",
        "SIGN_IN_LIMIT_PER_CLIENT": "3 per hour",
        "SIGN_IN_CODE_LIMIT_PER_CLIENT": "2 per hour",
        "TRUSTED_PROXY_HOPS": 1,  # the client's address comes from X-Forwarded-For
    }
    processes, urls = [], []
    try:
        for n in range(2):
            log = (tmp_path / f"server{n}.log").open("w")
            process = subprocess.Popen(
                [sys.executable, "-c", SERVER, json.dumps(config)],
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
            log.close()
            processes.append(process)
            port = process.stdout.readline().strip()
            assert port.isdigit(), (tmp_path / f"server{n}.log").read_text()
            urls.append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
            process.stdout.close()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Just enough of a browser: cookies (shared by both servers, as one site), no redirects."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects
        )

    def open(self, url, data=None, client="127.0.0.1"):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, headers={"X-Forwarded-For": client})
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read().decode()

    def csrf_token(self, base):
        status, text = self.open(base + "/sign-in")
        assert status == 200
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text).group(1)


def test_two_servers_share_the_counts_through_redis(two_servers, redis_url, redis_prefix):
    import redis

    a, b = two_servers
    browser = Browser()
    token = browser.csrf_token(a)

    def ask(server, address, client):
        data = {"email": address, "csrf_token": token}
        return browser.open(server + "/sign-in", data, client)[0]

    # One address, asked for from three clients, alternately on each server: two each
    # would be allowed if each server counted alone.
    assert ask(a, "shared@example.org", "10.1.0.1") == 302
    assert ask(b, "shared@example.org", "10.1.0.2") == 302
    assert ask(a, "shared@example.org", "10.1.0.3") == 429
    assert ask(b, "shared@example.org", "10.1.0.4") == 429
    assert ask(b, "other@example.org", "10.1.0.5") == 302

    # One client asking for different addresses.
    assert [
        ask(server, f"person{n}@example.org", "10.2.0.1") for n, server in enumerate([a, b, a, b])
    ] == [302, 302, 302, 429]

    # One client typing codes.
    def code(server):
        data = {"code": "000000", "csrf_token": token}
        return browser.open(server + "/sign-in/code", data, "10.3.0.1")[0]

    assert [code(a), code(b), code(a)] == [400, 400, 429]

    with redis.Redis.from_url(redis_url) as connection:
        keys = [key.decode() for key in connection.scan_iter(match=f"*/{redis_prefix}/*")]
    assert keys, "no counts in Redis under the configured prefix"
