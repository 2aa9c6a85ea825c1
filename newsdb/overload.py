"""Overload contained: a request that waited too long for a worker, or whose client has gone, costs no work.

gunicorn's workers take connections from a queue (the listen socket's backlog for sync workers, the worker's own for
gthread). In a burst the queue grows faster than the workers drain it, and without this middleware each queued request
is served in turn however long it waited, even when its client gave up long ago: the server stays busy for minutes
after the burst ends. ``LoadSheddingMiddleware``, first in MIDDLEWARE, asks the kernel about the request's connection
(``TCP_INFO`` on gunicorn's ``environ["gunicorn.socket"]``; Linux) before anything else runs:

- ``tcpi_last_data_recv``: milliseconds since the request's last bytes arrived, i.e. how long it waited in the queue.
  Over ``REQUEST_QUEUE_TIMEOUT_MS`` (default 1000; 0 turns shedding off) the answer is an immediate 503 JSON with
  ``Retry-After: REQUEST_RETRY_AFTER_SECONDS``. A worker writes thousands of those a second, so the queue empties
  within seconds and the requests that did not wait long are served normally.
- ``tcpi_state`` CLOSE_WAIT after a wait of 100 ms or more: the client closed its side while waiting (it gave up).
  Same 503, which nobody reads, instead of the work.

Under another server (runserver, or a Unix socket) there is nothing to measure and every request is served.

It also answers a database that did not answer in time (PostgreSQL's ``statement_timeout``, see
``DATABASE_STATEMENT_TIMEOUT_MS``) or at all with a 503 and ``Retry-After`` for pages outside the API (the admin);
the API's exception handler does the same for API views.
"""

import logging
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

_TCP_INFO = getattr(socket, "TCP_INFO", None) if sys.platform == "linux" else None
_TCP_CLOSE_WAIT = 8  # include/net/tcp_states.h
_LAST_DATA_RECV = struct.Struct("I")  # struct tcp_info: 8 one-byte fields, then u32s; tcpi_last_data_recv is the 12th
_LAST_DATA_RECV_OFFSET = 8 + 11 * 4
_GONE_AFTER_MS = 100


def queue_wait(request: HttpRequest) -> tuple[int, bool] | None:
    """(milliseconds since the request's last bytes arrived, whether the client has closed its side), or None."""
    sock = request.META.get("gunicorn.socket")
    if sock is None or _TCP_INFO is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 104)
    except (OSError, AttributeError):  # a Unix socket, or not a socket
        return None
    if len(info) < _LAST_DATA_RECV_OFFSET + 4:
        return None
    (waited,) = _LAST_DATA_RECV.unpack_from(info, _LAST_DATA_RECV_OFFSET)
    return waited, info[0] == _TCP_CLOSE_WAIT


def retry_after() -> int:
    return settings.REQUEST_RETRY_AFTER_SECONDS


def unavailable(detail: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=503)
    response["Retry-After"] = str(retry_after())
    response["Content-Length"] = str(len(response.content))  # before CommonMiddleware would: no chunked encoding
    return response


def database_error_detail(exc: OperationalError) -> str:
    """What a client is told when the database failed a read or write for a reason that passes."""
    if getattr(exc.__cause__, "sqlstate", None) == "57014":  # query_canceled: statement_timeout
        return f"The database did not answer in time; try again in {retry_after()} s."
    return f"The database is unavailable or busy; try again in {retry_after()} s."


def _close_without_lingering(request: HttpRequest) -> None:
    """After a reply, gunicorn (27) waits up to 2 s for the client to close its side, reading what it still sends, so
    that unread request data does not turn the close into a reset. A shed request without a body has nothing left to
    read: shutting the socket's read side now lets the worker close right after the 503 and take the next request."""
    if request.META.get("CONTENT_LENGTH", "") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in request.META:
        return
    try:
        request.META["gunicorn.socket"].shutdown(socket.SHUT_RD)
    except OSError:
        pass


class _ShedCounter:
    """Counts shed requests and logs one line a second at most, rather than one per request during a burst."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queued = self.gone = 0
        self.since = time.monotonic()

    def add(self, gone: bool, waited: int) -> None:
        with self.lock:
            if gone:
                self.gone += 1
            else:
                self.queued += 1
            now = time.monotonic()
            if now - self.since < 1:
                return
            queued, gone_count, seconds = self.queued, self.gone, now - self.since
            self.queued = self.gone = 0
            self.since = now
        logger.warning(
            "Overloaded: answered 503 at once to %d requests that waited longer than %d ms and %d whose client had "
            "gone, in %.1f s (the last waited %d ms)",
            queued,
            settings.REQUEST_QUEUE_TIMEOUT_MS,
            gone_count,
            seconds,
            waited,
        )


_shed = _ShedCounter()


class LoadSheddingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.REQUEST_QUEUE_TIMEOUT_MS
        measured = queue_wait(request) if limit > 0 else None
        if measured is not None:
            waited, closed = measured
            gone = closed and waited >= min(_GONE_AFTER_MS, limit)
            if gone or waited > limit:
                _shed.add(gone, waited)
                _close_without_lingering(request)
                response = unavailable(
                    f"newsdb is overloaded: this request waited {waited} ms for a worker. "
                    f"Try again in {retry_after()} s."
                )
                response._has_been_logged = True  # not one log line per request: _ShedCounter sums them up
                return response
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError):
            return None
        logger.warning("Database error on %s %s: %s", request.method, request.path, exception)
        return unavailable(database_error_detail(exception))
