"""Middleware that runs before Django's own: health probes, request limits and the request log.

- ``HealthMiddleware`` answers ``/healthz`` and ``/readyz`` first of all, so that a load balancer's or compose's
  probe needs neither an allowed ``Host``, nor HTTPS, nor a session.
- ``RequestLogMiddleware`` writes one line per request (method, path, status, duration, user) to the
  ``newsdb.requests`` logger: JSON with ``DJANGO_LOG_FORMAT=json`` (see ``newsdb.logs``).
- ``RequestLimitsMiddleware`` refuses a URL longer than ``NEWSDB_MAX_URL_LENGTH`` (414) and a body longer than
  ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413) before anything reads them; JSON under ``/api/``.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

request_logger = logging.getLogger("newsdb.requests")

HEALTH_PATHS = {"/healthz", "/healthz/"}
READY_PATHS = {"/readyz", "/readyz/"}


def readiness() -> tuple[bool, dict]:
    """Whether this process can serve: the database answers and every migration is applied."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return False, {"status": "unavailable", "database": f"unreachable: {first_line[:200]}"}
    if plan:
        pending = [f"{migration.app_label}.{migration.name}" for migration, backwards in plan if not backwards]
        return False, {"status": "unavailable", "database": "ok", "unapplied_migrations": pending}
    return True, {"status": "ok", "database": "ok"}


class HealthMiddleware:
    """``GET /healthz``: the process is up (no database). ``GET /readyz``: the database is reachable and every
    migration is applied (200), or why not (503). Both JSON, never cached."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path not in HEALTH_PATHS and path not in READY_PATHS:
            return self.get_response(request)
        if request.method not in {"GET", "HEAD"}:
            response = JsonResponse({"detail": f'Method "{request.method[:20]}" not allowed.'}, status=405)
            response["Allow"] = "GET, HEAD"
        elif path in HEALTH_PATHS:
            response = JsonResponse({"status": "ok"})
        else:
            ready, body = readiness()
            response = JsonResponse(body, status=200 if ready else 503)
            if not ready:
                response["Retry-After"] = "5"
        response["Cache-Control"] = "no-store"
        return response


def error_response(request: HttpRequest, status: int, detail: str) -> HttpResponse:
    """An error as JSON under /api/ (as every API error is), as plain text elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": detail}, status=status)
    return HttpResponse(detail, status=status, content_type="text/plain; charset=utf-8")


class RequestLimitsMiddleware:
    """414 for a URL (path and query string) longer than ``NEWSDB_MAX_URL_LENGTH`` characters: Django itself has no
    limit, and a long ``q`` would otherwise reach the database. 413 for a body whose ``Content-Length`` is over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``: DRF reads a JSON body without Django's check."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.NEWSDB_MAX_URL_LENGTH
        length = len(request.META.get("PATH_INFO", "")) + len(request.META.get("QUERY_STRING", ""))
        if length > limit:
            return error_response(request, 414, f"The URL is {length} characters long; the limit is {limit}.")
        body_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            body_length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            body_length = 0
        if body_limit is not None and body_length > body_limit:
            return error_response(
                request, 413, f"The request body is {body_length} bytes; the limit is {body_limit} bytes."
            )
        return self.get_response(request)


class RequestLogMiddleware:
    """One log record per request on ``newsdb.requests`` (INFO): method, path, status, duration in milliseconds
    and the user (username, or null). Costs nothing when that logger is off (the default text format)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request_logger.isEnabledFor(logging.INFO):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        user = getattr(request, "user", None)
        username = user.get_username() if user is not None and user.is_authenticated else None
        fields = {
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "user": username,
        }
        request_logger.info(
            "%s %s %s %.1fms %s",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            username or "-",
            extra={"request_fields": fields},
        )
        return response
