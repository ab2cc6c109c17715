"""gunicorn settings for the portal in production: `gunicorn -c gunicorn.conf.py app:app`
(gunicorn also reads this file by default when started in this folder).

README's "Deployment on PostgreSQL behind gunicorn" says why these values; bench/http_load.py
measures the portal (and a bare Flask "hello", the ceiling) under exactly these settings.

- `gthread` workers: several processes (one per core and then some, so the cores stay busy
  while a worker waits for PostgreSQL), each with a few threads, which also overlap the
  waits for the database and keep connections alive between requests.
- Each worker has its own SQLAlchemy pool (5 connections, up to 5 more: portal/config.py);
  a worker never uses more connections at once than it has threads, so the app server holds
  at most WEB_CONCURRENCY x GUNICORN_THREADS connections. Keep that (times the number of
  app servers, plus the mail workers and commands) below PostgreSQL's max_connections
  (100 by default; 3 are reserved for superusers).

- The control socket (for `gunicornc`) is this deployment's own, in its instance folder,
  not the per-user default that every gunicorn of the same user on the host would share.

Override with the environment: WEB_CONCURRENCY (workers), GUNICORN_THREADS, GUNICORN_BIND,
GUNICORN_CONTROL_SOCKET.
"""

from __future__ import annotations

import os
from pathlib import Path

# The cores this process may run on (a container or `taskset` may allow fewer than exist).
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
control_socket = os.environ.get(
    "GUNICORN_CONTROL_SOCKET", str(Path(__file__).resolve().parent / "instance" / "gunicorn.ctl")
)
control_socket_mode = 0o600
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * cores + 1)))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Connections kept open between requests (the reverse proxy reuses them).
keepalive = 5
# A request that takes longer than this is stuck: the worker is restarted.
timeout = 30
graceful_timeout = 30
# Restart each worker after a while, at different times, so a slow leak cannot grow.
max_requests = 20000
max_requests_jitter = 2000
