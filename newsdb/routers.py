"""Reads from PostgreSQL streaming replicas, writes to the primary (README "Scaling out").

Active only when ``DATABASE_REPLICA_URLS`` lists replicas: settings then adds the aliases ``replica_0``, ...
(``DATABASE_REPLICAS``), ``ReplicaRouter`` and ``ReplicaMiddleware``. Without it nothing here runs.

Where a read goes, in order:

1. the primary (``default``) inside a transaction on it: a write service's reads (``select_for_update``, the version
   check) must see the rows it is about to write; and outside a request (management commands, the shell);
2. the primary for the whole of a request that writes (any method but GET, HEAD, OPTIONS, TRACE) and for every page of
   the admin (editors read what they are about to change);
3. the primary for ``DATABASE_READ_YOUR_WRITES_SECONDS`` after the same client's last successful write: the response
   to the write carries a signed cookie (every client that keeps cookies: browsers, ``requests.Session``,
   ``curl -b jar -c jar``), and a write sent with an ``Authorization`` header also leaves a marker keyed by a hash of
   that header in Django's cache (across gunicorn workers when the cache is shared, see the README);
4. otherwise one replica, kept for the rest of the request (a request never mixes two replicas' points in time);
   a replica that cannot be reached is left out for ``DATABASE_REPLICA_RETRY_SECONDS`` (per process) and the read goes
   to another replica, or to the primary when none is left.

``DATABASE_ROUTING_HEADER=true`` adds ``X-Database: <aliases>`` to every response, naming the databases that ran its
queries (measured on the connections, not guessed from the router): for tests and for checking a deployment.
"""

import contextvars
import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from django.conf import settings
from django.core.cache import caches
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "newsdb_primary"
COOKIE_SALT = "newsdb.routers.read-your-writes"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class _RequestState:
    """What the router needs to know about the request being served in this thread."""

    __slots__ = ("primary", "replica")

    def __init__(self, primary: bool = False) -> None:
        self.primary = primary  # every read of this request goes to the primary
        self.replica: str | None = None  # the replica this request reads from, once chosen


_state: contextvars.ContextVar[_RequestState | None] = contextvars.ContextVar("newsdb_db_routing", default=None)

# Replicas that failed to connect, with the monotonic time until which they are left out (shared by the threads of a
# process; each gunicorn worker finds out for itself).
_down_until: dict[str, float] = {}
_down_lock = threading.Lock()
_next_replica = itertools.count()


def replicas() -> list[str]:
    return list(getattr(settings, "DATABASE_REPLICAS", []))


def replica_mark_down(alias: str) -> None:
    with _down_lock:
        _down_until[alias] = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS


def replica_is_down(alias: str) -> bool:
    until = _down_until.get(alias)
    if until is None:
        return False
    if until > time.monotonic():
        return True
    with _down_lock:
        if _down_until.get(alias) == until:
            del _down_until[alias]
    return False


def _replica_reachable(alias: str) -> bool:
    """Connect (or check the kept connection once per request: CONN_HEALTH_CHECKS); a failure marks it down."""
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except DatabaseError:
        replica_mark_down(alias)
        connection.close()
        return False
    return True


def replica_choose() -> str:
    """A reachable replica (round robin across requests), or the primary when every replica is down."""
    aliases = replicas()
    start = next(_next_replica)
    for offset in range(len(aliases)):
        alias = aliases[(start + offset) % len(aliases)]
        if not replica_is_down(alias) and _replica_reachable(alias):
            return alias
    return DEFAULT_DB_ALIAS


def read_alias() -> str:
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    state = _state.get()
    if state is None or state.primary:  # outside a request (manage.py load_fixtures, the shell): the primary
        return DEFAULT_DB_ALIAS
    if state.replica is None or replica_is_down(state.replica):
        state.replica = replica_choose()
    return state.replica


class ReplicaRouter:
    """DATABASE_ROUTERS entry: reads as above, every write and every migration on the primary."""

    def db_for_read(self, model, **hints) -> str:
        return read_alias()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the replicas hold the primary's rows

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS


# --- read-your-writes markers ---


def _auth_marker_key(request: HttpRequest) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    return "newsdb-primary:" + hashlib.sha256(header.encode("utf-8", "surrogateescape")).hexdigest()


def _recently_wrote(request: HttpRequest) -> bool:
    seconds = settings.DATABASE_READ_YOUR_WRITES_SECONDS
    if seconds <= 0:
        return False
    if request.get_signed_cookie(COOKIE_NAME, default=None, salt=COOKIE_SALT, max_age=seconds) is not None:
        return True
    key = _auth_marker_key(request)
    return key is not None and (caches["default"].get(key) or 0) > time.time()


def _remember_write(request: HttpRequest, response: HttpResponse) -> None:
    seconds = settings.DATABASE_READ_YOUR_WRITES_SECONDS
    if seconds <= 0:
        return
    response.set_signed_cookie(
        COOKIE_NAME,
        "1",
        salt=COOKIE_SALT,
        max_age=seconds,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )
    key = _auth_marker_key(request)
    if key is not None:
        caches["default"].set(key, time.time() + seconds, timeout=seconds)


def _admin_prefix() -> str:
    from django.urls import reverse

    return reverse("admin:index")


@contextmanager
def _record_aliases(used: list[str]) -> Iterator[None]:
    """Note every database alias that runs a query (for the X-Database header)."""

    def recorder(alias: str) -> Callable:
        def wrapper(execute, sql, params, many, context):
            if alias not in used:
                used.append(alias)
            return execute(sql, params, many, context)

        return wrapper

    with ExitStack() as stack:
        for alias in settings.DATABASES:
            stack.enter_context(connections[alias].execute_wrapper(recorder(alias)))
        yield


class ReplicaMiddleware:
    """Decides, for each request, whether its reads must see the primary; remembers the client's writes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.admin_prefix: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.admin_prefix is None:
            self.admin_prefix = _admin_prefix()
        writes = request.method not in SAFE_METHODS
        primary = writes or request.path.startswith(self.admin_prefix) or _recently_wrote(request)
        _state.set(_RequestState(primary=primary))
        if settings.DATABASE_ROUTING_HEADER:
            used: list[str] = []
            with _record_aliases(used):
                response = self.get_response(request)
            response["X-Database"] = ", ".join(used) or "none"
        else:
            response = self.get_response(request)
        if writes and response.status_code < 400:
            _remember_write(request, response)
        return response


def _request_done(**kwargs) -> None:
    # After the response is sent (a streamed export included): the thread's next request starts afresh.
    _state.set(None)


request_finished.connect(_request_done, dispatch_uid="newsdb.routers.request_done")
