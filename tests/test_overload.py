"""Overload contained (newsdb/overload.py): newsdb under gunicorn, on loopback, with a temporary SQLite database.

- A request that waited in the queue longer than REQUEST_QUEUE_TIMEOUT_MS is answered 503 JSON with Retry-After at
  once, and one that did not wait is served: shown with one sync worker held by a slow client.
- A burst far above capacity (open loop, a quarter of the clients giving up after half a second) degrades to fast
  503s: every patient client gets an answer, none waits long, and the server answers normally within seconds of the
  burst's end. The burst's rate is set from the measured cost of a request, so it overloads any machine.
"""

import json
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .loadburst import burst, service_time
from .servers import HOST, Gunicorn, manage, server_env

pytestmark = pytest.mark.overload

QUEUE_TIMEOUT_MS = 500
RETRY_AFTER = "3"
PATH = "/api/figures/?limit=1000"
SETUP = """
from django.core.management import call_command

call_command("migrate", interactive=False, verbosity=0)
call_command("load_fixtures", verbosity=0)
"""


@pytest.fixture(scope="module")
def database() -> Iterator[dict[str, str]]:
    """A migrated SQLite database with the curated data, and the environment that serves it."""
    with tempfile.TemporaryDirectory(prefix="newsdb-overload-") as directory:
        env = server_env(
            f"sqlite:///{directory}/db.sqlite3",
            REQUEST_QUEUE_TIMEOUT_MS=str(QUEUE_TIMEOUT_MS),
            REQUEST_RETRY_AFTER_SECONDS=RETRY_AFTER,
            # Shedding is what is measured here, not the per-address rate limits (every client is 127.0.0.1).
            DJANGO_THROTTLE_ANON="off",
            DJANGO_THROTTLE_USER="off",
            DJANGO_THROTTLE_ANON_EXPENSIVE="off",
            DJANGO_THROTTLE_USER_EXPENSIVE="off",
        )
        manage(env, "shell", "--no-imports", "-c", SETUP)
        env["NEWSDB_TEST_DIRECTORY"] = directory
        yield env


@pytest.fixture
def serve(database) -> Iterator:
    servers = []

    def start(*options: str) -> Gunicorn:
        server = Gunicorn(database, Path(database["NEWSDB_TEST_DIRECTORY"]) / f"gunicorn{len(servers)}.log", *options)
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


def read_reply(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The whole reply, then close (gunicorn's worker waits up to 2 s for the client to close after a reply)."""
    sock.settimeout(10)
    chunks = []
    with sock:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_a_request_that_waited_too_long_is_answered_503_at_once(serve):
    server = serve("--workers", "1", "--worker-class", "sync", "--threads", "1")
    request = f"GET {PATH} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n"

    # A slow client holds the only worker: it has sent its request line but not the end of its headers.
    slow = socket.create_connection((HOST, server.port))
    slow.sendall(request.encode())
    time.sleep(0.3)
    # Meanwhile a whole request arrives, and waits for the worker.
    queued = socket.create_connection((HOST, server.port))
    queued.sendall((request + "\r\n").encode())
    time.sleep(QUEUE_TIMEOUT_MS / 1000 + 0.7)

    slow.sendall(b"\r\n")  # the slow request completes: it did not wait for the worker, so it is served
    status, _, body = read_reply(slow)
    served_at = time.monotonic()
    assert status == 200, body[:300]

    status, headers, body = read_reply(queued)  # then the queued one: answered at once, without the work
    assert time.monotonic() - served_at < 0.5
    assert status == 503
    assert headers["content-type"] == "application/json"
    assert headers["retry-after"] == RETRY_AFTER
    detail = json.loads(body)["detail"]
    assert detail.startswith("newsdb is overloaded: this request waited ") and f"Try again in {RETRY_AFTER} s" in detail
    waited_ms = int(detail.split("waited ")[1].split(" ms")[0])
    assert QUEUE_TIMEOUT_MS < waited_ms < 5000

    # With nothing queued, the next request is served.
    response = server.request("GET", PATH)
    assert response.status == 200 and json.loads(response.read())["count"] > 0


def test_a_burst_far_above_capacity_degrades_to_fast_503s_and_the_server_recovers_in_seconds(serve):
    server = serve("--workers", "2")  # the production configuration (newsdb/gunicorn.conf.py), two workers
    idle = service_time(server.port, PATH)
    capacity = 2 / idle  # requests per second with both workers busy, at best
    rate = min(max(4 * capacity, 150), 600)
    seconds = 4

    result = burst(server.port, PATH, rate=rate, seconds=seconds, timeout=20, probe_seconds=15)
    summary = {"service_time_s": round(idle, 4), **result.summary()}
    print(summary)

    patient = result.patient()
    assert [a.error for a in patient if a.status is None] == [], summary  # every patient client got an answer
    assert {a.status for a in patient} <= {200, 503}, summary
    assert result.count(200) > 0 and result.count(503) > 0, summary
    for answer in patient:
        if answer.status == 503:
            assert answer.headers["content-type"] == "application/json"
            assert answer.headers["retry-after"] == RETRY_AFTER
            assert answer.json()["detail"].startswith("newsdb is overloaded")
    # Nobody waited long: without shedding, the last requests of such a burst wait for all the others.
    assert summary["latency_max_s"] < 5, summary
    # ... and right after the burst the server answers normally again.
    assert result.recovered_after is not None and result.recovered_after < 3, summary
    response = server.request("GET", PATH, timeout=2)
    assert response.status == 200
