"""An open-loop burst of HTTP requests against a loopback server, and how fast it recovers (tests/test_overload.py).

Open loop: request i is sent at ``i / rate`` seconds whatever happened to the earlier ones, as independent clients
do (a closed loop would slow down with the server and never overload it). A share of the clients gives up after
``impatient_after`` seconds and closes its connection, as browsers and scripts with a timeout do. While the burst
drains, a probe asks every 100 ms; ``recovered_after`` is the time from the burst's last request to the first probe
answered 200 within half a second.

Run by hand to measure (README "Scaling out"): ``python -m tests.loadburst --help``.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"


@dataclass
class Answer:
    sent_at: float  # seconds since the burst started
    status: int | None  # None: no answer (see ``error``)
    latency: float
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None  # "abandoned" (the client gave up), "timeout", or the connection error
    impatient: bool = False

    def json(self):
        return json.loads(self.body)


@dataclass
class BurstResult:
    rate: float
    seconds: float
    answers: list[Answer]
    recovered_after: float | None  # None: not within the probe's time

    def patient(self) -> list[Answer]:
        return [a for a in self.answers if not a.impatient]

    def count(self, status: int) -> int:
        return sum(1 for a in self.patient() if a.status == status)

    def summary(self) -> dict:
        patient = self.patient()
        latencies = sorted(a.latency for a in patient if a.status is not None)
        shed = sorted(a.latency for a in patient if a.status == 503)

        def pct(values: list[float], q: float) -> float | None:
            return round(values[min(len(values) - 1, int(q * len(values)))], 3) if values else None

        return {
            "rate_per_s": self.rate,
            "seconds": self.seconds,
            "requests": len(self.answers),
            "patient": len(patient),
            "status_200": self.count(200),
            "status_503": self.count(503),
            "other_status": sorted({a.status for a in patient if a.status not in (200, 503, None)}),
            "no_answer": sum(1 for a in patient if a.status is None),
            "abandoned": sum(1 for a in self.answers if a.error == "abandoned"),
            "latency_p50_s": pct(latencies, 0.5),
            "latency_p99_s": pct(latencies, 0.99),
            "latency_max_s": latencies[-1] if latencies else None,
            "latency_503_p50_s": pct(shed, 0.5),
            "latency_503_max_s": shed[-1] if shed else None,
            "median_200_latency_s": round(statistics.median(a.latency for a in patient if a.status == 200), 3)
            if self.count(200)
            else None,
            "recovered_after_s": None if self.recovered_after is None else round(self.recovered_after, 2),
        }


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


async def _get(port: int, path: str, timeout: float) -> tuple[int, dict[str, str], bytes]:
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), timeout)
        request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
        return _parse(raw)
    finally:
        if writer is not None:
            writer.close()


async def _client(port: int, path: str, start: float, at: float, impatient: bool, timeout: float) -> Answer:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, start + at - loop.time()))
    began = loop.time()
    try:
        status, headers, body = await _get(port, path, timeout)
    except TimeoutError:
        return Answer(at, None, loop.time() - began, error="abandoned" if impatient else "timeout", impatient=impatient)
    except (OSError, ValueError, IndexError) as exc:
        return Answer(at, None, loop.time() - began, error=f"{type(exc).__name__}: {exc}", impatient=impatient)
    return Answer(at, status, loop.time() - began, headers, body, impatient=impatient)


async def _probe(port: int, path: str, burst_end: float, seconds: float) -> float | None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(max(0.0, burst_end - loop.time()))
    while loop.time() < burst_end + seconds:
        began = loop.time()
        try:
            status, _, _ = await _get(port, path, 5)
        except (TimeoutError, OSError, ValueError, IndexError):
            status = None
        if status == 200 and loop.time() - began < 0.5:
            return began - burst_end
        await asyncio.sleep(0.1)
    return None


async def _burst(port, path, rate, seconds, impatient_share, impatient_after, timeout, probe_seconds) -> BurstResult:
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    total = int(rate * seconds)
    every = round(1 / impatient_share) if impatient_share else 0
    tasks = [
        asyncio.create_task(
            _client(
                port,
                path,
                start,
                i / rate,
                impatient=bool(every) and i % every == every - 1,
                timeout=impatient_after if every and i % every == every - 1 else timeout,
            )
        )
        for i in range(total)
    ]
    probe = asyncio.create_task(_probe(port, path, start + seconds, probe_seconds))
    answers = await asyncio.gather(*tasks)
    return BurstResult(rate, seconds, list(answers), await probe)


def burst(
    port: int,
    path: str,
    *,
    rate: float,
    seconds: float,
    impatient_share: float = 0.25,
    impatient_after: float = 0.5,
    timeout: float = 20,
    probe_seconds: float = 20,
) -> BurstResult:
    return asyncio.run(
        _burst(port, path, rate, seconds, impatient_share, impatient_after, timeout, probe_seconds),
    )


def service_time(port: int, path: str, requests: int = 15) -> float:
    """The median time of one request on an idle server (seconds)."""

    async def measure() -> float:
        times = []
        for _ in range(requests):
            began = time.perf_counter()
            status, _, _ = await _get(port, path, 10)
            assert status == 200, status
            times.append(time.perf_counter() - began)
        return statistics.median(times)

    return asyncio.run(measure())


def main() -> None:
    """Serve newsdb (curated data, temporary SQLite) under gunicorn and burst it; print the summary as JSON."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.servers import Gunicorn, manage, server_env

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--path", default="/api/figures/?limit=1000")
    parser.add_argument("--rate", type=float, default=300, help="requests per second")
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--workers", default="2")
    parser.add_argument("--queue-timeout-ms", default="500", help="REQUEST_QUEUE_TIMEOUT_MS (0: no shedding)")
    parser.add_argument("--database-url", help="serve this database instead (already migrated and loaded)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite:///{directory}/db.sqlite3"
        env = server_env(
            url,
            DJANGO_THROTTLE_ANON="off",
            DJANGO_THROTTLE_USER="off",
            DJANGO_THROTTLE_ANON_EXPENSIVE="off",
            DJANGO_THROTTLE_USER_EXPENSIVE="off",
        )
        env["REQUEST_QUEUE_TIMEOUT_MS"] = args.queue_timeout_ms
        if not args.database_url:
            manage(env, "migrate", "--noinput", "--verbosity", "0")
            manage(env, "load_fixtures")
        server = Gunicorn(env, Path(directory) / "gunicorn.log", "--workers", args.workers)
        try:
            server.wait_ready()
            idle = service_time(server.port, args.path)
            result = burst(server.port, args.path, rate=args.rate, seconds=args.seconds, probe_seconds=600)
        finally:
            server.stop()
        print(json.dumps({"service_time_s": round(idle, 4), "cpus": os.cpu_count(), **result.summary()}, indent=1))


if __name__ == "__main__":
    main()
