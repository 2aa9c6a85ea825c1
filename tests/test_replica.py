"""Reads from a real PostgreSQL streaming replica (README "Scaling out").

One test, because it builds a whole deployment on loopback ports in a temporary directory (about 20 s): a primary
(``initdb``), a hot standby streaming from it (``pg_basebackup -R``), the schema and the curated data loaded on the
primary, and newsdb under gunicorn (two workers) with ``DATABASE_REPLICA_URLS`` pointing at the standby. Both servers
log every statement, so the test reads from their logs which server ran a query, besides ``X-Database``. It shows:

1. an anonymous list is read from the replica, and the primary runs none of its queries;
2. read-your-writes: with the replica's replay paused (so it is certainly behind), an editor's PATCH is read back by
   the same editor (cookie, or token alone) from the primary, while an anonymous reader still gets the replica's old
   row; once replay resumes the replica catches up, and after the window the editor reads the replica again;
3. with the replica stopped every read is served by the primary (no error), and reads go back to the replica when
   it is up again.

Skipped only where PostgreSQL's server binaries are absent.
"""

import http.cookiejar
import json
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

from .servers import HOST, Gunicorn, PostgresCluster, free_port, manage, pg_bin, server_env

PG_BIN = pg_bin()
pytestmark = [
    pytest.mark.replica,
    pytest.mark.skipif(PG_BIN is None, reason="PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) not found"),
]

READ_YOUR_WRITES_SECONDS = 3
RETRY_SECONDS = 2
FIGURE_QUERY = 'FROM "articles_figure"'
# On the primary, in one process: the schema, the curated data, and an editor whose token is printed.
SETUP = """
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from rest_framework.authtoken.models import Token

call_command("migrate", interactive=False, verbosity=0)
call_command("load_fixtures", verbosity=0)
user = User.objects.create_user("replica-editor")
user.groups.add(Group.objects.get(name="editors"))
print(Token.objects.create(user=user).key)
"""


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def database(self) -> str | None:
        return self.headers.get("X-Database")

    def json(self):
        assert self.headers.get_content_type() == "application/json", (self.status, self.body[:300])
        return json.loads(self.body)


class Client:
    """An HTTP client: anonymous or with a token, with or without a cookie jar (as curl without -b/-c)."""

    def __init__(self, base: str, *, token: str | None = None, cookies: bool = False) -> None:
        self.base = base
        self.token = token
        handlers = [urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())] if cookies else []
        self.opener = urllib.request.build_opener(*handlers)

    def call(self, method: str, path: str, body: dict | None = None) -> Reply:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(request, timeout=20) as response:
                return Reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, error.read())


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds} s")
        time.sleep(0.2)


@dataclass
class Deployment:
    primary: PostgresCluster
    replica: PostgresCluster
    web: Gunicorn
    token: str

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.web.port}"


@pytest.fixture
def deployment() -> Iterator[Deployment]:
    directory = Path(tempfile.mkdtemp(prefix="newsdb-replica-"))
    directory.chmod(0o755)
    primary = PostgresCluster(PG_BIN, directory / "primary", free_port())
    replica = PostgresCluster(PG_BIN, directory / "replica", free_port())
    web = None
    try:
        primary.init_primary()
        primary.start()
        primary.sql("CREATE DATABASE newsdb", database="postgres")
        env = server_env(primary.url())
        token = manage(env, "shell", "--no-imports", "-c", SETUP).split()[-1]
        primary.log_statements()
        replica.init_replica_of(primary)  # its configuration is the primary's: it logs every statement too
        replica.start()
        assert replica.sql("SELECT pg_is_in_recovery()") == "t"
        web = Gunicorn(
            server_env(
                primary.url(),
                DATABASE_REPLICA_URLS=replica.url(),
                DATABASE_ROUTING_HEADER="true",
                DATABASE_READ_YOUR_WRITES_SECONDS=str(READ_YOUR_WRITES_SECONDS),
                DATABASE_REPLICA_RETRY_SECONDS=str(RETRY_SECONDS),
                DATABASE_REPLICA_CONNECT_TIMEOUT="2",
                # The token's read-your-writes marker in a cache both workers share (as the rate limits need).
                DJANGO_CACHE_DIR=str(directory / "cache"),
                DJANGO_THROTTLE_ANON="off",
                DJANGO_THROTTLE_USER="off",
            ),
            directory / "gunicorn.log",
            "--workers",
            "2",
            "--log-level",
            "warning",
            config=False,
        )
        web.wait_ready()
        yield Deployment(primary, replica, web, token)
    finally:
        if web is not None:
            web.stop()
        replica.remove()
        primary.remove()
        shutil.rmtree(directory, ignore_errors=True)


def test_reads_go_to_the_replica_writes_are_read_back_and_the_primary_takes_over(deployment):
    primary, replica = deployment.primary, deployment.replica
    anonymous = Client(deployment.base)
    editor = Client(deployment.base, token=deployment.token, cookies=True)
    script = Client(deployment.base, token=deployment.token)  # a token and no cookie jar, as curl is used
    figure_total = int(primary.sql("SELECT count(*) FROM articles_figure"))
    assert figure_total > 0

    # 1. An anonymous list is read from the replica, every page of it; the primary runs none of its queries.
    primary_log, replica_log = primary.log_size(), replica.log_size()
    for _ in range(4):  # both workers
        reply = anonymous.call("GET", "/api/figures/?limit=1000")
        assert reply.status == 200, reply
        assert reply.database == "replica_0"
        assert reply.json()["count"] == figure_total == len(reply.json()["results"])
    assert replica.log_since(replica_log).count(FIGURE_QUERY) >= 4
    assert FIGURE_QUERY not in primary.log_since(primary_log)
    figure = reply.json()["results"][0]

    # 2. Read-your-writes. Replay paused: the replica stays behind whatever the primary writes from now on.
    replica.sql("SELECT pg_wal_replay_pause()")
    wait_for(lambda: replica.sql("SELECT pg_get_wal_replay_pause_state()") == "paused", 10, "replay paused")
    note = f"Checked against the filing ({time.time():.0f})."
    reply = editor.call("PATCH", f"/api/figures/{figure['id']}/", {"note": note, "change_reason": "replica test"})
    assert reply.status == 200, reply
    assert reply.database == "default"
    assert reply.json()["note"] == note
    assert primary.sql(f"SELECT note FROM articles_figure WHERE id = {figure['id']}") == note

    for client in (editor, script):  # by the signed cookie, and by the token's marker
        reply = client.call("GET", f"/api/figures/{figure['id']}/")
        assert (reply.status, reply.database, reply.json()["note"]) == (200, "default", note)
    reply = anonymous.call("GET", f"/api/figures/{figure['id']}/")
    assert (reply.status, reply.database) == (200, "replica_0")
    assert reply.json()["note"] == figure["note"] != note  # the replica's row: it has not replayed the write

    replica.sql("SELECT pg_wal_replay_resume()")
    wait_for(
        lambda: anonymous.call("GET", f"/api/figures/{figure['id']}/").json()["note"] == note,
        10,
        "the replica replays the write",
    )
    time.sleep(READ_YOUR_WRITES_SECONDS + 0.5)
    for client in (editor, script):
        reply = client.call("GET", f"/api/figures/{figure['id']}/")
        assert (reply.status, reply.database, reply.json()["note"]) == (200, "replica_0", note)

    # 3. The replica stops: the primary serves every read, without an error.
    replica.stop()
    primary_log = primary.log_size()
    for _ in range(6):
        reply = anonymous.call("GET", "/api/figures/?limit=1000")
        assert (reply.status, reply.database) == (200, "default"), reply
        assert reply.json()["count"] == figure_total
    assert primary.log_since(primary_log).count(FIGURE_QUERY) >= 6

    # ... and once it is back, reads return to it (after DATABASE_REPLICA_RETRY_SECONDS).
    replica.start()
    wait_for(
        lambda: anonymous.call("GET", "/api/figures/").database == "replica_0",
        RETRY_SECONDS + 10,
        "reads return to the restarted replica",
    )
