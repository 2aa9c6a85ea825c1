"""Real servers for the tests that need them, on loopback ports, each stopped and removed by its test:

- ``PostgresCluster``: a throwaway PostgreSQL cluster in a temporary directory (``initdb``, ``pg_ctl``), a primary or
  a streaming replica of one (``pg_basebackup -R``). The binaries are PostgreSQL's own (``/usr/lib/postgresql/<n>/bin``
  on Debian, or ``NEWSDB_PG_BIN``); as root they run as the ``postgres`` user, as PostgreSQL requires.
- ``Gunicorn``: newsdb under gunicorn with a given environment.
- ``PgBouncer``: Debian's PgBouncer in transaction mode in front of a PostgreSQL server (as root it runs as the
  ``postgres`` user too).
- ``manage``: a ``manage.py`` command against a given database.
"""

import http.client
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def process_stop(process: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Stop ``process`` with ``sig`` if it still runs, killing it when it has not exited within ``timeout`` seconds."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def file_tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a log file ("" when there is none yet)."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def pg_bin() -> Path | None:
    """The newest PostgreSQL server binaries on this machine, or None."""
    if os.environ.get("NEWSDB_PG_BIN"):
        candidates = [Path(os.environ["NEWSDB_PG_BIN"])]
    else:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    for candidate in candidates:
        if all((candidate / name).is_file() for name in ("initdb", "pg_ctl", "pg_basebackup", "psql")):
            return candidate
    return None


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production-like newsdb process (DEBUG off, a random key) on that database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "DJANGO_"))}
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS=f"{HOST},localhost",
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    """Run ``manage.py <args>``; its output, or an AssertionError that shows it."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result.stdout


class PostgresCluster:
    """A PostgreSQL cluster of its own in ``directory``, listening on 127.0.0.1:``port`` alone."""

    def __init__(self, binaries: Path, directory: Path, port: int) -> None:
        self.bin = binaries
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "server.log"
        self.port = port
        self.as_postgres = os.geteuid() == 0  # PostgreSQL refuses to run as root

    def url(self, database: str = "newsdb") -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{database}"

    def _run(self, *command: str, timeout: float = 60) -> str:
        args = [str(self.bin / command[0]), *command[1:]]
        if self.as_postgres:
            args = ["runuser", "-u", "postgres", "--", *args]
        result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=self.directory)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {result.returncode}: {result.stderr}{self.log_tail()}")
        return result.stdout

    def _prepare_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)

    def _configure(self, **settings: str) -> None:
        lines = [f"{name} = {value}" for name, value in settings.items()]
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# newsdb test server\n" + "\n".join(lines) + "\n")

    def _common_settings(self) -> dict[str, str]:
        return {
            "port": str(self.port),
            "listen_addresses": f"'{HOST}'",
            "unix_socket_directories": f"'{self.directory}'",
            "fsync": "off",
            "full_page_writes": "off",
            "log_min_messages": "warning",
        }

    def init_primary(self) -> None:
        self._prepare_directory()
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync", "--no-instructions")  # fmt: skip
        self._configure(wal_level="replica", max_wal_senders="4", **self._common_settings())

    def init_replica_of(self, primary: "PostgresCluster") -> None:
        """A hot standby of ``primary`` (``pg_basebackup -R`` writes standby.signal and primary_conninfo)."""
        self._prepare_directory()
        self._run("pg_basebackup", "-h", HOST, "-p", str(primary.port), "-U", "postgres", "-D", str(self.data),
                  "-R", "-X", "stream", "-c", "fast", "--no-sync")  # fmt: skip
        self._configure(hot_standby="on", **self._common_settings())

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start", timeout=90)

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", timeout=90)

    def log_statements(self) -> None:
        """From now on, log every statement (a test reads from the log which server ran which query)."""
        self.sql("ALTER SYSTEM SET log_statement = 'all'", database="postgres")
        self.sql("SELECT pg_reload_conf()", database="postgres")

    def sql(self, query: str, database: str = "newsdb") -> str:
        """Run one SQL command with psql; its output, unaligned and without headers."""
        return self._run("psql", "-h", HOST, "-p", str(self.port), "-U", "postgres", "-d", database, "-X", "-A",
                         "-t", "-v", "ON_ERROR_STOP=1", "-c", query).strip()  # fmt: skip

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        if not self.log.exists():
            return ""
        return "\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def remove(self) -> None:
        try:
            self.stop(mode="immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.directory, ignore_errors=True)


class PgBouncer:
    """PgBouncer in transaction mode on a free loopback port, in front of the PostgreSQL server at ``host:port``,
    with ``pool_size`` server connections for each database and user, handed out last used first (its default)."""

    def __init__(self, directory: Path, host: str, port: int, *, pool_size: int = 2) -> None:
        self.directory = directory
        self.port = free_port()
        self.log = directory / "pgbouncer.log"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "users.txt").write_text('"postgres" ""\n')
        (directory / "pgbouncer.ini").write_text(
            f"[databases]\n* = host={host} port={port}\n"
            f"[pgbouncer]\nlisten_addr = {HOST}\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {directory / 'users.txt'}\npool_mode = transaction\n"
            f"default_pool_size = {pool_size}\nserver_round_robin = 0\nlogfile = {self.log}\n"
        )
        command = [shutil.which("pgbouncer") or "/usr/sbin/pgbouncer", str(directory / "pgbouncer.ini")]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            user = pwd.getpwnam("postgres")
            for path in (directory, *directory.iterdir()):
                os.chown(path, user.pw_uid, user.pw_gid)
            command += ["-u", "postgres"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"PgBouncer did not start:\n{self.log_tail()}") from None
                time.sleep(0.05)

    def url(self, database: str, user: str = "postgres") -> str:
        return f"postgres://{user}@{HOST}:{self.port}/{database}"

    def log_tail(self, lines: int = 20) -> str:
        return file_tail(self.log, lines)

    def stop(self) -> None:
        process_stop(self.process)


class Gunicorn:
    """newsdb under gunicorn on a free loopback port, its output in ``log``."""

    def __init__(self, env: dict[str, str], log: Path, *options: str, config: bool = True) -> None:
        self.port = free_port()
        self.log = log
        command = [sys.executable, "-m", "gunicorn", "newsdb.wsgi", "--bind", f"{HOST}:{self.port}"]
        conf = ROOT / "newsdb" / "gunicorn.conf.py"
        if config and conf.exists():
            command += ["--config", str(conf)]
        else:
            command += ["--config", "/dev/null"]  # not a gunicorn.conf.py from the working directory
        command += list(options)
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def request(self, method: str, path: str, timeout: float = 10) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        connection.request(method, path)
        return connection.getresponse()

    def wait_ready(self, seconds: float = 60) -> None:
        """Until ``GET /api/`` answers 200: the workers have started Django and reach the database."""
        deadline = time.monotonic() + seconds
        problem = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                response = self.request("GET", "/api/", timeout=5)
                response.read()
                if response.status == 200:
                    return
                problem = f"GET /api/ answered {response.status}"
            except OSError as exc:
                problem = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not serve /api/ in {seconds} s ({problem}):\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return file_tail(self.log, lines)

    def stop(self) -> None:
        # SIGINT: a quick shutdown (SIGTERM waits for idle workers' next tick).
        process_stop(self.process, sig=signal.SIGINT, timeout=15)
