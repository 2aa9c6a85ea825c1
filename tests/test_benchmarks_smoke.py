"""The API benchmark harness (``make bench``) runs end to end: a tiny version of it, on a scratch SQLite file.

Not a timed test: it checks that every phase runs and reports real numbers (rows read, no errors), never how fast.
"""

import json
import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).resolve().parent / "benchmarks" / "bench_api.py"
FAST = ["--articles", "30", "--duration", "0.3", "--ratio-rounds", "1", "--open-rate", "20", "--open-seconds", "2"]


def test_the_benchmark_harness_measures_every_phase_and_prints_its_table(tmp_path):
    results = tmp_path / "results.json"
    database = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    command = [sys.executable, str(HARNESS), "--database-url", database, "--workers", "2", *FAST]
    run = subprocess.run([*command, "--json", str(results)], capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(results.read_text())
    http = report["http"]

    assert "| measurement | req/s | p50 ms | p95 ms | p99 ms | errors |" in run.stdout
    assert report["table"] in run.stdout
    assert report["dataset"]["counts"] == {"articles": 30, "companies": 500, "events": 60, "figures": 60}
    lists = {row["name"]: row for row in http["lists"]}
    for path in ("/api/articles/", "/api/companies/", "/api/events/", "/api/figures/", "/api/events/?company=co-7"):
        assert lists[path]["rows"] > 0, path
    for row in http["lists"]:
        assert row["requests"] > 0 and row["errors"] == 0 and row["p99_ms"] > 0, row
    assert http["cursor_supported"], http.get("cursor_problem")

    ratio = http["ratio"]
    assert ratio["same_ids"] and ratio["same_fields"], ratio
    assert ratio["api"]["errors"] == ratio["bare"]["errors"] == 0 and ratio["ratio"] > 0

    deep = http["deep"]
    assert deep["walk"]["pages"] == 2 and deep["walk"]["problem"] is None
    assert all(row["requests"] > 0 and row["errors"] == 0 for label, row in deep.items() if label != "walk")

    for export in http["exports"]:
        assert export["status"] == 200 and export["rows"] == 60 and export["streamed"], export
        assert export["worker_rss_peak_mb"] > 0, export

    assert http["open"]["requests"] == 40 and http["open"]["errors"] == 0, http["open"]
    assert report["environment"]["server_log"] == {"tracebacks": 0, "worker_timeouts": 0}
    assert report["environment"]["generator_cpu_s"] > 0
