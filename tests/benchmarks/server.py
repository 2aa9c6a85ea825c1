"""The server under benchmark: gunicorn serving newsdb with the bench settings on a free loopback port."""

import http.client
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from tests.servers import HOST, file_tail, free_port, process_stop

ROOT = Path(__file__).resolve().parents[2]


class Server:
    """gunicorn serving newsdb with the bench settings on a free loopback port."""

    def __init__(self, *, database_url: str, workers: int, timeout: int | None, log: Path) -> None:
        self.port = free_port()
        self.log = log
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.benchmarks.settings",
            "DATABASE_URL": database_url,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_REQUIRE_SECRET_KEY": "true",
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
        }
        command = [sys.executable, "-m", "gunicorn", "newsdb.wsgi", "--bind", f"{HOST}:{self.port}"]
        command += ["--workers", str(workers), "--log-level", "warning"]
        if timeout:
            command += ["--timeout", str(timeout)]
        self.command = command
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, seconds: float = 60) -> None:
        """Until the API root answers 200 (the workers have imported Django and can reach the database)."""
        deadline = time.monotonic() + seconds
        problem = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
            try:
                connection.request("GET", "/api/")
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    return
                problem = f"GET /api/ answered {response.status}"
            except OSError as exc:
                problem = str(exc)
            finally:
                connection.close()
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not serve /api/ in {seconds}s ({problem}):\n{self.log_tail()}")

    def workers(self) -> list[int]:
        """The worker processes (children of the gunicorn master), read from /proc."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def cpu_seconds(self) -> float:
        """User and system CPU time of the master and its current workers."""
        total = 0.0
        for pid in [self.process.pid, *self.workers()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def log_tail(self, lines: int = 30) -> str:
        return file_tail(self.log, lines)

    def log_problems(self) -> dict:
        text = self.log.read_text(errors="replace")
        return {
            "tracebacks": text.count("Traceback (most recent call last)"),
            "worker_timeouts": text.count("WORKER TIMEOUT"),
        }

    def stop(self) -> None:
        process_stop(self.process, timeout=15)


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None
