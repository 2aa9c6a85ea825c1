"""Benchmark the API at scale: ``make bench`` (or ``python tests/benchmarks/bench_api.py [options]``).

Makes sure the benchmark database holds the synthetic data set (``dataset.py``: 100,000 articles, built once
and cached), serves it with gunicorn on a free loopback port (``newsdb.wsgi``, 3 sync workers as in
docker-compose.yml, DEBUG off, the bench settings that add the bare reference view), warms it up, then measures:

1. every list endpoint's default page and its common filters, each for ``--duration`` seconds by
   ``--concurrency`` clients in a closed loop: requests/s, p50/p95/p99, errors;
2. the DRF figures list with a filter against a bare ``.values()``-plus-``JsonResponse`` view of the same rows,
   in alternating runs in the same gunicorn: the ratio of their requests/s;
3. a deep page: ``offset=150000`` and cursor page 3,000 (walked to once) against page 1, one client;
4. full exports of the figures as CSV and JSONL, one streamed request each: time, bytes, rows, and the growth of
   the gunicorn workers' resident memory sampled from /proc while it streams;
5. an open loop: ``--open-rate`` requests/s for ``--open-seconds`` over the list URLs, sent on schedule whatever
   the server does, at most ``--max-in-flight`` in flight (a request due beyond that is dropped: an error);
6. with ``--loader``: ``bench_load_fixtures.py`` (first load, reload, memory, ratio to ``loaddata``).

Prints one Markdown table with the date, the machine and the load average at start and end, and writes every
number as JSON (``--json``). The load generator is plain asyncio in this process; its CPU time is reported.
Not a test: CI does not run it (``tests/test_benchmarks_smoke.py`` runs a tiny version).
"""

import argparse
import asyncio
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.benchmarks import httpload  # noqa: E402
from tests.benchmarks.dataset import DEFAULT_DATABASE_URL, ensure_postgres_database  # noqa: E402
from tests.benchmarks.report import (  # noqa: E402
    OPEN_P99_TARGET_MS,
    P95_TARGET_MS,
    cpu_reference,
    export_note,
    line,
    median,
    redact,
    table,
    verdict,
)
from tests.benchmarks.server import HOST, Server, rss_kb  # noqa: E402

LIST_URLS = [
    "/api/articles/",
    "/api/companies/",
    "/api/people/",
    "/api/events/",
    "/api/figures/",
    "/api/figures/?company=co-7&metric=revenue",
    "/api/figures/?metric=market_share&value__gte=50",
    "/api/figures/?status=verified",
    "/api/events/?type=order_contract",
    "/api/events/?company=co-7",
    "/api/events/?date__gte=2024-04-01",
    "/api/articles/?publisher=co-7",
    "/api/companies/?kind=miner",
]
CURSOR_URLS = ["/api/figures/?cursor=", "/api/events/?cursor="]
RATIO_API = "/api/figures/?company=co-7&metric=revenue"
RATIO_BARE = "/bench/bare/figures/?company=co-7&metric=revenue"


# ---------------------------------------------------------------------------------------------- the phases


def rows_of(response: httpload.Response) -> tuple[int | None, dict | None]:
    try:
        data = json.loads(response.body)
    except ValueError:
        return None, None
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return len(data["results"]), data
    return None, data if isinstance(data, dict) else None


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def probe(client: httpload.Client, path: str) -> dict:
    """One request, read whole: its status, rows, count and (on an error) the start of its body."""
    try:
        response = await client.get(path, keep_body=True)
    except Exception as exc:  # noqa: BLE001
        return {"status": None, "error": f"{type(exc).__name__}: {exc}"}
    rows, data = rows_of(response)
    found = {"status": response.status, "rows": rows, "bytes": response.size}
    if data is not None:
        found |= {key: data.get(key) for key in ("count", "count_exact", "next") if key in data}
        if data.get("results"):
            found["first"] = data["results"][0]
            found["ids"] = [row.get("id") for row in data["results"] if isinstance(row, dict)]
    if response.status != 200:
        found["error"] = response.body[:300].decode("utf-8", "replace")
    return found


def phase_row(name: str, stats: httpload.Stats, **extra) -> dict:
    return {"name": name, **stats.summary(), "load": round(os.getloadavg()[0], 2), **extra}


async def measure_lists(server: Server, args, urls: list[str], probes: dict) -> list[dict]:
    rows = []
    for path in urls:
        stats = await httpload.closed_loop(
            HOST, server.port, [path], concurrency=args.concurrency, seconds=args.duration
        )
        found = probes.get(path, {})
        row = phase_row(path, stats, rows=found.get("rows"), count=found.get("count"))
        row["count_exact"] = found.get("count_exact")
        row["target"] = (
            f"p95 ≤ {P95_TARGET_MS} ms",
            verdict(row["p95_ms"] is not None and row["p95_ms"] <= P95_TARGET_MS),
        )
        rows.append(row)
        print(f"  {line(row)}", flush=True)
    return rows


async def measure_ratio(server: Server, args) -> dict:
    """DRF and bare in alternating runs, so that a change in the machine's load hits both alike."""
    runs = {"api": [], "bare": []}
    for _ in range(args.ratio_rounds):
        for kind, path in (("api", RATIO_API), ("bare", RATIO_BARE)):
            stats = await httpload.closed_loop(
                HOST, server.port, [path], concurrency=args.concurrency, seconds=args.duration
            )
            runs[kind].append(phase_row(path, stats))
    totals = {}
    for kind, kind_runs in runs.items():
        requests = sum(run["requests"] for run in kind_runs)
        seconds = sum(run["seconds"] for run in kind_runs)
        totals[kind] = {
            "rps": round(requests / seconds, 1) if seconds else None,
            "p50_ms": median(run["p50_ms"] for run in kind_runs),
            "p95_ms": median(run["p95_ms"] for run in kind_runs),
            "p99_ms": median(run["p99_ms"] for run in kind_runs),
            "errors": sum(run["errors"] for run in kind_runs),
            "load": kind_runs[-1]["load"],
        }
    ratio = totals["api"]["rps"] / totals["bare"]["rps"] if totals["bare"]["rps"] else None
    return {
        "api_path": RATIO_API,
        "bare_path": RATIO_BARE,
        "runs": runs,
        "api": totals["api"],
        "bare": totals["bare"],
        "ratio": ratio and round(ratio, 3),
    }


async def same_rows(client: httpload.Client) -> dict:
    api, bare = await probe(client, RATIO_API), await probe(client, RATIO_BARE)
    same_ids = bool(api.get("ids")) and api.get("ids") == bare.get("ids")
    same_fields = set(api.get("first") or {}) == set(bare.get("first") or {})
    return {
        "same_ids": same_ids,
        "same_fields": same_fields,
        "api_rows": api.get("rows"),
        "bare_rows": bare.get("rows"),
    }


async def measure_deep(server: Server, args, figures: int, cursor: bool) -> dict:
    """Page 1 against a deep offset, and cursor page 1 against cursor page N (walked to once), one client."""
    client = httpload.Client(HOST, server.port, args.timeout)
    result: dict = {}
    offset = min(args.deep_offset, max(0, figures - 50))
    pages = [
        ("offset=0", "/api/figures/?limit=50&offset=0"),
        (f"offset={offset}", f"/api/figures/?limit=50&offset={offset}"),
    ]
    if cursor:
        wanted = max(2, min(args.deep_page, math.ceil(figures / 50)))
        started = time.perf_counter()
        url, page, problem = "/api/figures/?cursor=", 1, None
        while page < wanted and time.perf_counter() - started < args.walk_seconds:
            found = await probe(client, url)
            if found.get("status") != 200 or not found.get("next"):
                problem = found.get("error") or f"no next link after page {page}"
                break
            url, page = path_of(found["next"]), page + 1
        if page < wanted and problem is None:
            problem = f"stopped at page {page}: the walk took over {args.walk_seconds:g} s"
        result["walk"] = {"pages": page, "seconds": round(time.perf_counter() - started, 2), "problem": problem}
        pages += [("cursor page 1", "/api/figures/?cursor="), (f"cursor page {page}", url)]
    client.close()
    for label, path in pages:
        stats = await httpload.closed_loop(HOST, server.port, [path], concurrency=1, seconds=args.duration)
        result[label] = phase_row(f"figures {label}", stats, path=path)
        print(f"  {line(result[label])}", flush=True)
    return result


async def measure_export(server: Server, args, path: str, expected_rows: int, header_lines: int) -> dict:
    """One full streamed export; every worker's RSS sampled every 10 ms meanwhile."""
    client = httpload.Client(HOST, server.port, timeout=max(args.timeout, 600))
    baseline = {pid: rss_kb(pid) or 0 for pid in server.workers()}
    peak = dict(baseline)
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            for pid in server.workers():
                value = rss_kb(pid)
                if value is not None:
                    baseline.setdefault(pid, value)
                    peak[pid] = max(peak.get(pid, 0), value)
            await asyncio.sleep(0.01)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    error = None
    try:
        response = await client.get(path, count_lines=True)
    except Exception as exc:  # noqa: BLE001
        response, error = None, f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - started
    done.set()
    await sampler
    client.close()
    growth = {pid: peak[pid] - baseline[pid] for pid in peak}
    worker = max(growth, key=growth.get) if growth else None
    result = {
        "name": path,
        "seconds": round(elapsed, 2),
        "status": response and response.status,
        "bytes": response and response.size,
        "rows": response and max(0, response.lines - header_lines),
        "expected_rows": expected_rows,
        "first_byte_ms": response and round(response.first_byte * 1000, 1),
        "content_type": response and response.headers.get("content-type"),
        "streamed": response and "content-length" not in response.headers,
        "worker_rss_start_mb": worker and round(baseline[worker] / 1024, 1),
        "worker_rss_peak_mb": worker and round(peak[worker] / 1024, 1),
        "worker_rss_growth_mb": worker and round(growth[worker] / 1024, 1),
        "load": round(os.getloadavg()[0], 2),
        "error": error,
    }
    if response is not None and response.status != 200:
        result["error"] = f"HTTP {response.status}"
    print(f"  {path}: {export_note(result)}", flush=True)
    return result


async def measure_open(server: Server, args, urls: list[str]) -> dict:
    stats = await httpload.open_loop(
        HOST,
        server.port,
        urls,
        rate=args.open_rate,
        seconds=args.open_seconds,
        max_in_flight=args.max_in_flight,
        timeout=args.timeout,
    )
    row = phase_row(f"open loop {args.open_rate:g}/s for {args.open_seconds:g}s", stats)
    late = stats.percentile(99, stats.late)
    row["sent_late_p99_ms"] = None if late is None else round(late, 2)
    ok = row["errors"] == 0 and row["p99_ms"] is not None and row["p99_ms"] <= OPEN_P99_TARGET_MS
    row["target"] = f"p99 ≤ {OPEN_P99_TARGET_MS} ms, 0 errors", verdict(ok)
    print(f"  {line(row)}", flush=True)
    return row


async def run_http(server: Server, args, dataset: dict) -> dict:
    client = httpload.Client(HOST, server.port, args.timeout)
    print("warming up", flush=True)
    cursor_probe = await probe(client, CURSOR_URLS[0])
    cursor = cursor_probe.get("status") == 200 and "next" in cursor_probe and "count" not in cursor_probe
    list_urls = LIST_URLS + (CURSOR_URLS if cursor else [])
    probes = {}
    for path in [*list_urls, RATIO_BARE]:
        for _ in range(2 * args.workers):
            probes[path] = await probe(client, path)
        if probes[path].get("status") != 200:
            print(f"  {path}: {probes[path].get('status')} {probes[path].get('error', '')[:200]}", flush=True)
    results: dict = {"cursor_supported": cursor, "probes": probes}
    if not cursor:
        results["cursor_problem"] = cursor_probe.get("error") or json.dumps(cursor_probe)[:300]
        print(f"  cursor mode is not served: {results['cursor_problem']}", flush=True)

    print(f"lists: {args.concurrency} clients, {args.duration:g}s each", flush=True)
    results["lists"] = await measure_lists(server, args, list_urls, probes)
    print(f"DRF against bare: {args.ratio_rounds} alternating rounds", flush=True)
    results["ratio"] = await measure_ratio(server, args) | await same_rows(client)
    client.close()
    figures = dataset["counts"]["figures"]
    print("deep pages", flush=True)
    results["deep"] = await measure_deep(server, args, figures, cursor)
    print("exports", flush=True)
    results["exports"] = [
        await measure_export(server, args, "/api/figures/?format=csv", figures, header_lines=1),
        await measure_export(server, args, "/api/figures/?format=jsonl", figures, header_lines=0),
    ]
    print(f"open loop: {args.open_rate:g} requests/s for {args.open_seconds:g}s", flush=True)
    results["open"] = await measure_open(server, args, list_urls)
    return results


def run_loader(args, work: Path) -> dict:
    """``bench_load_fixtures.py`` in a scratch database of its own (it drops everything in it)."""
    script = HERE / "bench_load_fixtures.py"
    usage = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=ROOT).stdout
    missing = [flag for flag in ("--json", "--loaddata") if flag not in usage]
    database_url = args.loader_database_url
    if database_url.startswith(("postgres://", "postgresql://")):
        ensure_postgres_database(database_url)
    env = {**os.environ, "DATABASE_URL": database_url}
    results: dict = {"missing_options": missing, "database": redact(database_url)}
    runs = [("load", ["--articles", str(args.loader_articles), "--no-full"])]
    if "--loaddata" not in missing:
        runs.append(("loaddata", ["--articles", str(args.loaddata_articles), "--loaddata", "--no-full"]))
    for name, options in runs:
        out = work / f"loader-{name}.json"
        command = [sys.executable, str(script), *options] + (["--json", str(out)] if "--json" not in missing else [])
        print(f"  {' '.join(command[1:])}", flush=True)
        started = time.perf_counter()
        log = work / f"loader-{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        # wait4 gives this child's own peak resident memory (KiB on Linux).
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        run = {
            "command": command[1:],
            "exit": process.returncode,
            "seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "output_tail": log.read_text(errors="replace").splitlines()[-15:],
        }
        if out.exists():
            run["json"] = json.loads(out.read_text())
        results[name] = run
    return results


# ---------------------------------------------------------------------------------------------- entry point


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--articles", type=int, default=100_000, help="Size of the data set (default 100,000).")
    parser.add_argument("--rebuild", action="store_true", help="Rebuild the data set even when it is current.")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (docker-compose.yml runs 3).")
    parser.add_argument("--gunicorn-timeout", type=int, help="gunicorn --timeout (default: gunicorn's, as deployed).")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds per closed-loop measurement.")
    parser.add_argument("--ratio-rounds", type=int, default=3, help="Alternating DRF/bare rounds.")
    parser.add_argument("--deep-offset", type=int, default=150_000)
    parser.add_argument("--deep-page", type=int, default=3_000)
    parser.add_argument("--walk-seconds", type=float, default=600, help="At most this long walking to --deep-page.")
    parser.add_argument("--open-rate", type=float, default=200.0, help="Open loop: requests per second.")
    parser.add_argument("--open-seconds", type=float, default=60.0)
    parser.add_argument("--max-in-flight", type=int, default=100, help="Open loop: requests in flight at most.")
    parser.add_argument("--timeout", type=float, default=30.0, help="Seconds before a request counts as failed.")
    parser.add_argument("--loader", action="store_true", help="Also run bench_load_fixtures.py (takes minutes).")
    parser.add_argument("--loader-articles", type=int, default=100_000)
    parser.add_argument("--loaddata-articles", type=int, default=10_000)
    parser.add_argument(
        "--loader-database-url",
        default=os.environ.get("BENCH_LOADER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/newsdb_bench_loader"),
        help="Scratch database for --loader (everything in it is dropped).",
    )
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json", help="Where to write it all.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    load_start = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    reference_start = cpu_reference()
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    work = Path(tempfile.mkdtemp(prefix="newsdb-bench-api-"))

    print(f"data set: {args.articles:,} articles in {redact(args.database_url)}", flush=True)
    marker_file = work / "dataset.json"
    command = [sys.executable, str(HERE / "dataset.py"), "--database-url", args.database_url]
    command += ["--articles", str(args.articles), "--json", str(marker_file)] + (["--rebuild"] if args.rebuild else [])
    subprocess.run(command, cwd=ROOT, check=True)
    dataset = json.loads(marker_file.read_text())

    server = Server(
        database_url=args.database_url, workers=args.workers, timeout=args.gunicorn_timeout, log=work / "gunicorn.log"
    )
    try:
        server.wait_ready()
        cpu_before, server_cpu_before = resource.getrusage(resource.RUSAGE_SELF), server.cpu_seconds()
        wall = time.perf_counter()
        http = asyncio.run(run_http(server, args, dataset))
        wall = time.perf_counter() - wall
        cpu_after, server_cpu = resource.getrusage(resource.RUSAGE_SELF), server.cpu_seconds() - server_cpu_before
        log_problems = server.log_problems()
    finally:
        server.stop()
    loader = None
    if args.loader:
        print("loader: bench_load_fixtures.py", flush=True)
        loader = run_loader(args, work)

    counts = dataset["counts"]
    report = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if "database" not in k},
        "environment": {
            "date": started_at,
            "machine": platform.machine(),
            "nproc": len(os.sched_getaffinity(0)),
            "system": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
            "database": dataset.get("server", dataset.get("vendor")),
            "dataset": f"{counts['articles']:,} articles, {counts['events']:,} events, {counts['figures']:,} figures"
            f" ({'cached' if dataset['cached'] else 'built now'}, built {dataset['built_at']})",
            "workers": args.workers,
            "load_start": load_start,
            "load_end": ", ".join(f"{v:.2f}" for v in os.getloadavg()),
            "cpu_reference_start": reference_start,
            "cpu_reference_end": cpu_reference(),
            "generator_cpu_s": (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime),
            "http_wall_s": wall,
            "server_cpu_s": round(server_cpu, 1),
            "server_log": log_problems,
            "server_command": server.command[1:],
            "work_dir": str(work),
        },
        "dataset": dataset,
        "http": http,
        "loader": loader,
    }
    report["table"] = table(report)
    print()
    print(report["table"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
        print(f"\nresults: {args.json}; server log: {server.log}")
    return report


if __name__ == "__main__":
    main()
