"""A light HTTP/1.1 load generator for the benchmark: plain asyncio over ``asyncio.open_connection``, loopback only.

It shares the machine with the server it measures, so it does as little as it can: it reads status line and
headers, then skips the body (or counts its lines, for exports) without decoding it. Connections are kept alive
when the server allows it (gunicorn's sync workers close every connection: then each request connects anew,
as a real client would, and the connect time is part of its latency).

- ``closed_loop``: N clients, each sending its next request when the previous one is answered;
- ``open_loop``: requests sent on a fixed schedule whatever the server does, latency measured from the scheduled
  time (so a stalled server shows as latency, not as fewer requests), with a cap on requests in flight: a request
  due while the cap is reached is dropped and counted as an error.
"""

import asyncio
import ipaddress
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

CHUNK = 256 * 1024


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 as this client reads it."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    size: int
    body: bytes = b""
    lines: int = 0
    first_byte: float = 0.0  # seconds from sending to the status line


@dataclass
class Stats:
    """Latencies (seconds) of the answered requests, and what went wrong with the others."""

    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    late: list[float] = field(default_factory=list)  # open loop: how late the generator itself sent

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def percentile(self, p: float, values: list[float] | None = None) -> float | None:
        """Nearest-rank percentile, in milliseconds."""
        ordered = sorted(self.latencies if values is None else values)
        if not ordered:
            return None
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
        return ordered[rank - 1] * 1000

    def summary(self) -> dict:
        ok = self.requests
        return {
            "requests": ok,
            "errors": self.error_count,
            "error_kinds": dict(self.errors),
            "seconds": round(self.elapsed, 3),
            "rps": round(ok / self.elapsed, 1) if self.elapsed else None,
            "p50_ms": _round(self.percentile(50)),
            "p95_ms": _round(self.percentile(95)),
            "p99_ms": _round(self.percentile(99)),
            "max_ms": _round(self.percentile(100)),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class Client:
    """GET requests to one loopback server over a small pool of kept-alive connections."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the load generator only talks to loopback addresses, not {host}")
        self.host, self.port, self.timeout = host, port, timeout
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.connects = 0

    async def get(
        self, path: str, *, keep_body: bool = False, count_lines: bool = False, on_chunk: Callable | None = None
    ) -> Response:
        return await asyncio.wait_for(self._get(path, keep_body, count_lines, on_chunk), self.timeout)

    async def _get(self, path: str, keep_body: bool, count_lines: bool, on_chunk: Callable | None) -> Response:
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: */*\r\n"
            "Accept-Encoding: identity\r\nUser-Agent: newsdb-bench\r\n\r\n"
        ).encode("ascii")
        reused = bool(self.idle)
        reader, writer = self.idle.pop() if reused else await self._connect()
        sent = time.perf_counter()
        try:
            writer.write(request)
            status, headers = await _read_head(reader)
        except (ConnectionError, asyncio.IncompleteReadError, ProtocolError):
            writer.close()
            if not reused:
                raise
            # The server closed a kept-alive connection between two requests: not an error, connect again.
            return await self._get(path, keep_body, count_lines, on_chunk)
        first_byte = time.perf_counter() - sent
        try:
            response, reusable = await _read_body(reader, status, headers, keep_body, count_lines, on_chunk)
        except BaseException:
            writer.close()
            raise
        response.first_byte = first_byte
        if reusable and headers.get("connection", "").lower() != "close":
            self.idle.append((reader, writer))
        else:
            writer.close()
        return response

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.connects += 1
        return await asyncio.open_connection(self.host, self.port, limit=CHUNK)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _read_body(
    reader: asyncio.StreamReader,
    status: int,
    headers: dict[str, str],
    keep_body: bool,
    count_lines: bool,
    on_chunk: Callable | None,
) -> tuple[Response, bool]:
    """The body, by Content-Length, chunked transfer coding, or up to the connection's end; and whether the
    connection can carry another request."""
    kept: list[bytes] = []
    size = lines = 0

    def take(data: bytes) -> None:
        nonlocal size, lines
        size += len(data)
        if count_lines:
            lines += data.count(b"\n")
        if keep_body:
            kept.append(data)
        if on_chunk is not None:
            on_chunk(data)

    reusable = True
    if status in (204, 304) or 100 <= status < 200:
        pass
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            line = await reader.readline()
            try:
                length = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as exc:
                raise ProtocolError(f"bad chunk size line {line[:40]!r}") from exc
            if length == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                break
            while length:
                data = await reader.read(min(length, CHUNK))
                if not data:
                    raise asyncio.IncompleteReadError(b"", length)
                length -= len(data)
                take(data)
            await reader.readexactly(2)
    elif "content-length" in headers:
        remaining = int(headers["content-length"])
        while remaining:
            data = await reader.read(min(remaining, CHUNK))
            if not data:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(data)
            take(data)
    else:
        reusable = False
        while data := await reader.read(CHUNK):
            take(data)
    return Response(status, headers, size, b"".join(kept), lines), reusable


def _error_name(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timeout"
    return type(exc).__name__


async def closed_loop(
    host: str, port: int, paths: list[str], *, concurrency: int, seconds: float, timeout: float = 30.0
) -> Stats:
    """``concurrency`` clients, each requesting ``paths`` in turn (from a different start) for ``seconds``."""
    stats = Stats()
    started = time.perf_counter()
    deadline = started + seconds

    async def client_loop(index: int) -> None:
        client = Client(host, port, timeout)
        n = index
        try:
            while time.perf_counter() < deadline:
                path = paths[n % len(paths)]
                n += 1
                sent = time.perf_counter()
                try:
                    response = await client.get(path)
                except Exception as exc:  # noqa: BLE001  (every failure is counted, none stops the run)
                    stats.errors[_error_name(exc)] += 1
                    await asyncio.sleep(0.01)  # a refused connection must not spin the loop
                    continue
                stats.latencies.append(time.perf_counter() - sent)
                if response.status != 200:
                    stats.errors[f"HTTP {response.status}"] += 1
        finally:
            client.close()

    await asyncio.gather(*(client_loop(i) for i in range(concurrency)))
    stats.elapsed = time.perf_counter() - started
    return stats


async def open_loop(
    host: str,
    port: int,
    paths: list[str],
    *,
    rate: float,
    seconds: float,
    max_in_flight: int,
    timeout: float = 30.0,
) -> Stats:
    """``rate`` requests a second for ``seconds``, over ``paths`` in turn, sent on schedule."""
    stats = Stats()
    client = Client(host, port, timeout)
    in_flight = 0
    tasks: set[asyncio.Task] = set()

    async def one(path: str, scheduled: float) -> None:
        nonlocal in_flight
        try:
            response = await client.get(path)
        except Exception as exc:  # noqa: BLE001
            stats.errors[_error_name(exc)] += 1
        else:
            stats.latencies.append(time.perf_counter() - scheduled)
            if response.status != 200:
                stats.errors[f"HTTP {response.status}"] += 1
        finally:
            in_flight -= 1

    total = round(rate * seconds)
    started = time.perf_counter() + 0.01
    for i in range(total):
        scheduled = started + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        stats.late.append(max(0.0, time.perf_counter() - scheduled))
        if in_flight >= max_in_flight:
            stats.errors[f"dropped (over {max_in_flight} in flight)"] += 1
            continue
        in_flight += 1
        task = asyncio.create_task(one(paths[i % len(paths)], scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    stats.elapsed = time.perf_counter() - started
    client.close()
    return stats
