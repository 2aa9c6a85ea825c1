"""gunicorn's configuration for newsdb: ``gunicorn -c newsdb/gunicorn.conf.py`` (docker-compose.yml runs that).

Every value can be changed from the environment (README, "Running in production"):

| variable | default | what |
|---|---|---|
| GUNICORN_BIND | 127.0.0.1:8000 | address and port (compose: 0.0.0.0:8000) |
| GUNICORN_WORKERS | 2 × cores + 1, at most 12 | processes; each serves one request at a time (per thread) |
| GUNICORN_THREADS | 1 | threads per worker; above 1 the workers are gthread workers |
| GUNICORN_TIMEOUT | 30 | seconds a worker may spend on one request before it is killed and replaced |
| GUNICORN_GRACEFUL_TIMEOUT | 30 | seconds a worker has to finish its requests on restart or shutdown |
| GUNICORN_KEEPALIVE | 5 | seconds an idle keep-alive connection is kept (gthread workers) |
| GUNICORN_MAX_REQUESTS | 1000 | requests after which a worker is replaced (bounds any slow leak) ... |
| GUNICORN_MAX_REQUESTS_JITTER | 100 | ... plus up to this many, so the workers do not restart together |
| GUNICORN_BACKLOG | 2048 | connections the kernel queues while every worker is busy (see below) |

The request line is limited to 8190 bytes (gunicorn's maximum), above newsdb's own URL limit
(``NEWSDB_MAX_URL_LENGTH``, 8000 characters by default), so that a long URL gets newsdb's JSON 414; a request line
beyond gunicorn's limit, or any other request gunicorn refuses itself, is answered in JSON as well (see
``json_error`` below). Access logs are newsdb's own (``DJANGO_LOG_FORMAT=json``).
"""

import json
import os

from gunicorn import util


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number, not {value!r}") from None


def _default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(2, min(2 * cores + 1, 12))


wsgi_app = "newsdb.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
workers = _int("GUNICORN_WORKERS", _default_workers())
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# The queue is bounded in time rather than in length: a request that waited longer than REQUEST_QUEUE_TIMEOUT_MS is
# answered 503 at once (newsdb/overload.py), which empties a deep queue within seconds. A short backlog bounds
# nothing better: the kernel drops the connections over it, and their clients wait 1 s, 3 s, 7 s... to retry
# (measured in README "Scaling out": at 64, a burst's slowest answers took 5.7 s; at 2048, 1.2 s).
backlog = _int("GUNICORN_BACKLOG", 2048)
limit_request_line = 8190
# Which proxies may set X-Forwarded-Proto and friends (gunicorn's own setting; comma-separated addresses).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# The web server's statement timeout (README, "Scaling out"): a query that runs longer is cancelled and the request
# answered 503; manage.py commands (migrate, load_fixtures) keep no limit unless the variable is set for them.
os.environ.setdefault("DATABASE_STATEMENT_TIMEOUT_MS", "5000")


def on_starting(server) -> None:
    """Refuse to start, with one line, when the settings are wrong (no DJANGO_SECRET_KEY with DEBUG off, ...),
    instead of workers that fail one after another."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsdb.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018
    except ImproperlyConfigured as exc:
        raise RuntimeError(f"newsdb: configuration error: {exc}") from None


def json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error answers (a request line over limit_request_line, malformed headers, ...) as JSON, like
    every newsdb error, instead of its HTML page."""
    body = json.dumps({"detail": f"{reason}: {mesg}"}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


util.write_error = json_error
