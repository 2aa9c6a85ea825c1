"""The benchmark's Markdown table, from the numbers ``bench_api.py`` collected (its JSON report)."""

import concurrent.futures
import multiprocessing
import re
import time

# The acceptance targets.
P95_TARGET_MS = 50
RATIO_TARGET = 0.7
OPEN_P99_TARGET_MS = 100


def _reference_work(_=None) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i * i % 7
    return time.perf_counter() - started


def cpu_reference() -> dict[str, float]:
    """The machine's speed at this moment: a fixed piece of Python work (lower is faster), best of 3, on one core and
    on two at once. The same code's numbers drift with it (a virtual machine's neighbours): a run's numbers are
    comparable with another's when these are, and the loader (two cores) follows ``two_cores_ms``."""
    one = min(_reference_work() for _ in range(3))
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        two = min(max(pool.map(_reference_work, range(2))) for _ in range(3))
    return {"one_core_ms": round(one * 1000, 1), "two_cores_ms": round(two * 1000, 1)}


def reference_text(start: dict | None, end: dict | None) -> str:
    if not start or not end:
        return ""
    return (
        f"CPU reference (a fixed Python loop, best of 3; lower is faster): one core {start['one_core_ms']} ms, two at "
        f"once {start['two_cores_ms']} ms at the start; {end['one_core_ms']} and {end['two_cores_ms']} ms at the end."
    )


def verdict(passed: bool) -> str:
    return "ok" if passed else "OVER"


def median(values) -> float | None:
    ordered = sorted(v for v in values if v is not None)
    return ordered[len(ordered) // 2] if ordered else None


def redact(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]+@", r"//\1:***@", url)


def fmt(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def cell(text: str) -> str:
    """One line, without the pipes that would end the cell early."""
    return " ".join(str(text).split()).replace("|", "\\|")


def line(row: dict) -> str:
    """A measurement as one progress line."""
    kinds = f" {row['error_kinds']}" if row.get("error_kinds") else ""
    return (
        f"{row['name']}: {fmt(row['rps'])} req/s, p50 {fmt(row['p50_ms'])} ms, p95 {fmt(row['p95_ms'])} ms, "
        f"p99 {fmt(row['p99_ms'])} ms, {row['errors']} errors{kinds}"
    )


def export_note(export: dict) -> str:
    if export.get("error") and not export.get("bytes"):
        return f"failed: {export['error']}"
    complete = export["rows"] == export["expected_rows"]
    return (
        f"{export['seconds']:.1f} s, {export['bytes'] / 1e6:,.1f} MB, {export['rows']:,} rows"
        f"{'' if complete else ' of ' + format(export['expected_rows'], ',') + ' (INCOMPLETE)'}, "
        f"{'streamed' if export['streamed'] else 'not streamed (Content-Length)'}, first byte "
        f"{fmt(export['first_byte_ms'])} ms, worker RSS {fmt(export['worker_rss_start_mb'])} → "
        f"{fmt(export['worker_rss_peak_mb'])} MB (+{fmt(export['worker_rss_growth_mb'])})"
        + (f", {export['error']}" if export.get("error") else "")
    )


def export_ok(export: dict) -> bool:
    return not export.get("error") and export["rows"] == export["expected_rows"] and bool(export["streamed"])


def table(report: dict) -> str:
    env, http, args = report["environment"], report.get("http", {}), report["args"]
    reference = reference_text(env.get("cpu_reference_start"), env.get("cpu_reference_end"))
    lines = [
        f"newsdb API benchmark, {env['date']}: {env['machine']} (`uname -m`), {env['nproc']} CPUs (`nproc`), "
        f"{env['system']}, {env['database']}; {env['dataset']}; gunicorn, {env['workers']} sync workers; "
        f"{args['concurrency']} clients, {args['duration']:g} s per measurement.",
        f"Load average (1, 5, 15 min) at start {env['load_start']}, at end {env['load_end']}. Load generator CPU "
        f"{env['generator_cpu_s']:.1f} s over {env['http_wall_s']:.0f} s of measurements; gunicorn CPU "
        f"{fmt(env.get('server_cpu_s'))} s. {reference}",
        "",
        "| measurement | req/s | p50 ms | p95 ms | p99 ms | errors | target | load | notes |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]

    def add(name, row, target="", notes=""):
        lines.append(
            f"| {name} | {fmt(row.get('rps'))} | {fmt(row.get('p50_ms'))} | {fmt(row.get('p95_ms'))} | "
            f"{fmt(row.get('p99_ms'))} | {fmt(row.get('errors'))} | {target} | {fmt(row.get('load'), 2)} | "
            f"{cell(notes)} |"
        )

    for row in http.get("lists", []):
        goal, passed = row["target"]
        notes = f"{fmt(row.get('rows'))} rows"
        if row.get("count") is not None:
            notes += f" of {'≥' if row.get('count_exact') is False else ''}{fmt(row['count'])}"
        add(f"`{row['name']}`", row, f"{goal}: {passed}", notes + kinds(row))
    if not http.get("cursor_supported", True):
        lines.append(f"| cursor mode | | | | | | | | not served: {cell(http.get('cursor_problem', ''))[:160]} |")
    ratio = http.get("ratio")
    if ratio:
        same = "same rows and fields" if ratio["same_ids"] and ratio["same_fields"] else "ROWS OR FIELDS DIFFER"
        add(f"`{ratio['api_path']}` (DRF)", ratio["api"], "", f"alternating with the bare view; {same}")
        add(f"`{ratio['bare_path']}` (bare)", ratio["bare"], "", "`.values()` + `JsonResponse`, same gunicorn")
        passed = verdict(ratio["ratio"] is not None and ratio["ratio"] >= RATIO_TARGET)
        lines.append(
            f"| DRF/bare ratio | {fmt(ratio['ratio'], 2)} | | | | | ≥ {RATIO_TARGET}: {passed} | | "
            "DRF's req/s over the bare view's |"
        )
    deep = http.get("deep", {})
    for label, row in deep.items():
        if label == "walk":
            continue
        base = deep.get("cursor page 1" if label.startswith("cursor") else "offset=0", {}).get("p50_ms")
        notes = f"p50 {row['p50_ms'] / base:.1f}× page 1" if base and row.get("p50_ms") else ""
        if label.startswith("cursor page") and label != "cursor page 1" and deep.get("walk"):
            walk = deep["walk"]
            notes += f"; walked to it once: {walk['pages']:,} pages in {walk['seconds']:.0f} s"
            notes += f" ({walk['seconds'] / max(1, walk['pages'] - 1) * 1000:.0f} ms a page)"
            notes += f" ({walk['problem'][:80]})" if walk["problem"] else ""
        add(f"figures, {label} (1 client)", row, "", notes)
    for export in http.get("exports", []):
        passed = export_ok(export)
        lines.append(
            f"| `{export['name']}` (full export) | | | | | {0 if passed else 1} | "
            f"{'streamed, every row: ' + verdict(passed)} | {fmt(export['load'], 2)} | {cell(export_note(export))} |"
        )
    if http.get("open"):
        row = http["open"]
        goal, passed = row["target"]
        notes = f"{row['requests']:,} answered; the generator sent late by p99 {fmt(row['sent_late_p99_ms'])} ms"
        add(row["name"], row, f"{goal}: {passed}", notes + kinds(row))
    for name, errors, load, notes in loader_rows(report.get("loader")):
        lines.append(f"| {name} | | | | | {errors} | | {fmt(load, 2)} | {cell(notes)} |")
    problems = env.get("server_log", {})
    lines.append(
        f"| gunicorn log | | | | | {problems.get('tracebacks', 0) + problems.get('worker_timeouts', 0)} | | | "
        f"{problems.get('tracebacks', 0)} tracebacks, {problems.get('worker_timeouts', 0)} worker timeouts |"
    )
    return "\n".join(lines)


def kinds(row: dict) -> str:
    return f"; {', '.join(f'{k}: {v}' for k, v in row['error_kinds'].items())}" if row.get("error_kinds") else ""


def rss(value) -> str:
    """A peak RSS from bench_load_fixtures.py: a number of MB, or ``{"self": MB, "largest_child": MB}``."""
    if isinstance(value, dict):
        return ", ".join(f"{fmt(mb)} MB ({name.replace('_', ' ')})" for name, mb in value.items())
    return f"{fmt(value)} MB"


def loader_rows(loader: dict | None) -> list[tuple[str, str, float | None, str]]:
    """``bench_load_fixtures.py``'s numbers as table rows: (name, errors, load average, notes)."""
    if not loader:
        return []
    rows = []
    if loader.get("missing_options"):
        missing = " / ".join(loader["missing_options"])
        rows.append(("loader", "", None, f"bench_load_fixtures.py has no {missing} option: numbers from its output"))
    for name in ("load", "loaddata"):
        run = loader.get(name)
        if not run:
            continue
        data = run.get("json") or {}
        load = (data.get("load_average_after") or [None])[0]
        if run["exit"] != 0 or not data:
            tail = " / ".join(run.get("output_tail", [])[-4:])
            rows.append((f"loader ({name})", str(int(run["exit"] != 0)), load, f"exit {run['exit']}: {tail}"))
            continue
        size = f"{data.get('articles', 0):,} articles"
        phases = data.get("phases", [])
        first = phases[0]["seconds"] if phases else None
        if name == "load":
            for phase in phases:
                share = (
                    f" ({phase['seconds'] / first:.1%} of the first load)" if first and phase is not phases[0] else ""
                )
                rows.append(
                    (
                        f"loader: {phase['name']}, {size}",
                        "0",
                        load,
                        f"{phase['seconds']:,.1f} s{share}; {phase.get('files_read', 0):,} files read, "
                        f"{phase.get('written', 0):,} records written; peak RSS {rss(phase.get('peak_rss_mb'))}",
                    )
                )
        elif "loaddata" in data:
            loaddata = data["loaddata"]
            rows.append(
                (
                    f"loader against `loaddata`, {size}",
                    "0",
                    load,
                    f"loaddata {loaddata['loaddata_seconds']:,.1f} s, first load {fmt(first, 2)} s: "
                    f"loaddata takes {loaddata['ratio']}× as long (dump {fmt(loaddata.get('dump_mb'))} MB)",
                )
            )
        rows.append(
            (
                f"loader ({name}) process",
                "0",
                load,
                f"{run['seconds']:,.0f} s in all, peak RSS {run['peak_rss_mb']:,.0f} MB",
            )
        )
    return rows
