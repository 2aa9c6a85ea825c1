"""Benchmark ``load_fixtures`` at scale: ``python tests/benchmarks/bench_load_fixtures.py --articles 100000``.

Generates a synthetic data set (one YAML file per article, like ``fixtures/``: a ~1.5 KB body, two
events with participants and two figures each; ``--companies`` companies, 500 by default, with ``--aliases`` aliases
each, one by default), loads it into a fresh database, and times:

- the first load;
- an idempotent reload (every file unchanged: no file is read, nothing is written; must take at most 10%
  of the first load);
- a reload after changing 1% of the article files (their title): only those files are read and written;
- a full reload (``--full``: every file read and compared, nothing written), for reference.

Prints a table with each phase's time and its ratio to the first load, and the peak resident memory (this
process, and the largest of the reading workers). ``--loaddata`` then dumps the loaded rows with ``dumpdata`` and
times Django's ``loaddata`` of the same rows into a fresh database (``<name>_loaddata``), reporting how many
times slower it is (measure it at 10,000 articles: loaddata is slow). ``--json PATH`` writes every number for a
harness. Uses DATABASE_URL when set (it must point at a scratch database: everything in it is dropped),
otherwise a temporary SQLite file.
"""

import argparse
import json
import os
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.report import cpu_reference, reference_text  # noqa: E402

PARAGRAPH = (
    "Analysts said the mining-machine market stayed tight through the quarter, with delivery times stretching "
    "as miners raced to replace older rigs before the halving. "
)


def generate(folder: Path, articles: int, companies: int = 500, aliases: int = 1) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    names = ("Co {n}", "Company {n} Ltd", "C{n} Holdings", "Co-{n} Mining", "{n} Hashing")
    (folder / "companies.yaml").write_text(
        yaml.safe_dump(
            {
                "companies": [
                    {
                        "slug": f"co-{n}",
                        "name": f"Company {n}",
                        "kind": "miner",
                        "aliases": [
                            names[i % len(names)].format(n=n) + (f" {i}" if i >= len(names) else "")
                            for i in range(aliases)
                        ],
                    }
                    for n in range(companies)
                ]
            }
        ),
        encoding="utf-8",
    )
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    for n in range(articles):
        maker, buyer = f"co-{n % companies}", f"co-{(n * 7 + 1) % companies}"
        revenue = f"${n % 900 + 100} million"
        share = f"{n % 90 + 1}%"
        body = (
            PARAGRAPH * 8
            + f"Company {n % companies} reported revenue of {revenue} in March. "
            + f"It holds {share} of the market. Company {n % companies} shipped machines to a buyer in April."
        )
        doc = {
            "article": {
                "slug": f"article-{n}",
                "title": f"Article {n}",
                "publisher": maker,
                "published_on": "2024-08-01",
                "published_precision": "month",
                "body": body,
                "companies": [maker, buyer],
            },
            "events": [
                {
                    "key": "report",
                    "title": "Revenue report",
                    "type": "financial_report",
                    "date": "2024-03-01",
                    "date_precision": "month",
                    "quote": f"reported revenue of {revenue} in March.",
                    "participants": [{"company": maker, "role": "subject"}],
                },
                {
                    "key": "shipment",
                    "title": "Shipment",
                    "type": "order_contract",
                    "date": "2024-04-01",
                    "date_precision": "month",
                    "quote": "shipped machines to a buyer in April.",
                    "participants": [{"company": maker, "role": "supplier"}, {"company": buyer, "role": "customer"}],
                },
            ],
            "figures": [
                {
                    "key": "revenue",
                    "company": maker,
                    "metric": "revenue",
                    "as_reported": revenue,
                    "value": (n % 900 + 100) * 1_000_000,
                    "unit": "USD",
                    "quote": f"reported revenue of {revenue} in March.",
                    "period_start": "2024-03-01",
                    "period_end": "2024-03-31",
                    "period_label": "March 2024",
                },
                {
                    "key": "share",
                    "company": maker,
                    "metric": "market_share",
                    "as_reported": share,
                    "value": n % 90 + 1,
                    "unit": "percent",
                    "quote": f"It holds {share} of the market.",
                },
            ],
        }
        (folder / f"article-{n}.yaml").write_text(yaml.dump(doc, Dumper=dumper), encoding="utf-8")


def touch(folder: Path, articles: int, share: float) -> int:
    """Change the title in ``share`` of the article files (spread over the set); returns how many."""
    step = max(1, round(1 / share))
    changed = 0
    for n in range(0, articles, step):
        path = folder / f"article-{n}.yaml"
        path.write_text(
            path.read_text(encoding="utf-8").replace(f"title: Article {n}\n", f"title: Article {n} (revised)\n"),
            encoding="utf-8",
        )
        changed += 1
    return changed


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory so far (MB): this process, and the largest of its finished children (the reading
    workers); Linux reports kilobytes."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "largest_child": round(children, 1)}


def loaddata_seconds(work: Path) -> dict:
    """Dump what the first load wrote (``dumpdata``), then time ``loaddata`` of the same rows into a fresh scratch
    database (``<name>_loaddata`` next to DATABASE_URL's, or a second SQLite file)."""
    from django.core.management import call_command
    from django.db import connection, connections

    dump = work / "dump.json"
    started = time.perf_counter()
    with dump.open("w", encoding="utf-8") as out:
        call_command("dumpdata", "articles", "auth.user", stdout=out)
    dumped = time.perf_counter() - started
    settings = dict(connections.databases["default"])
    if connection.vendor == "postgresql":
        settings["NAME"] = f"{settings['NAME']}_loaddata"
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{settings["NAME"]}"')
            cursor.execute(f'CREATE DATABASE "{settings["NAME"]}"')
    else:
        settings["NAME"] = str(work / "loaddata.sqlite3")
    connections.databases["loaddata"] = settings
    call_command("migrate", database="loaddata", verbosity=0)
    started = time.perf_counter()
    call_command("loaddata", str(dump), database="loaddata", verbosity=0)
    seconds = time.perf_counter() - started
    connections["loaddata"].close()
    size = dump.stat().st_size / 1e6
    return {"dumpdata_seconds": round(dumped, 2), "loaddata_seconds": round(seconds, 2), "dump_mb": round(size, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument(
        "--companies", type=int, default=500, help="Companies in companies.yaml (the articles name them in turn)."
    )
    parser.add_argument("--aliases", type=int, default=1, help="Aliases of each company.")
    parser.add_argument("--no-full", action="store_true", help="Skip the full reload (it reads every file).")
    parser.add_argument(
        "--loaddata",
        action="store_true",
        help="Also dump the first load with dumpdata and time loaddata of the same rows into a fresh database "
        "(slow: measure at 10,000 articles, not 100,000); reports loaddata's time over the first load's.",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="Write the measured numbers to PATH as JSON.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsdb-bench-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsdb.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # a scratch run: any key will do
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from articles.models import Article, Event, Figure
    from articles.services import fixtures

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)

    started = time.perf_counter()
    folder = work / "fixtures"
    generate(folder, args.articles, args.companies, args.aliases)
    print(f"generated {args.articles} article files in {time.perf_counter() - started:.1f}s ({work})")

    rows = []
    results: dict = {
        "articles": args.articles,
        "database": connection.vendor,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "cpu_reference_before": cpu_reference(),
        "phases": [],
    }

    def load(name: str, **options) -> None:
        cpu = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        report = fixtures.fixtures_load(paths=[folder], **options)
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_seconds = sum(a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime for a, b in zip(after, cpu, strict=True))
        rows.append((name, elapsed, report))
        counts = {name: vars(c) for name, c in report.counts.items()}
        # A high-water mark: a phase's own peak shows when it is above every earlier phase's (the first load is
        # streamed and stays low, so the reloads after it show theirs).
        peak = peak_rss_mb()
        print(
            f"{name} on {connection.vendor}: {elapsed:.2f}s (files read {report.files_read}, skipped "
            f"{report.files_skipped}; reading and planning {report.read_seconds:.2f}s, writing "
            f"{report.write_seconds:.2f}s; CPU {cpu_seconds:.1f}s in this process and its workers; peak RSS so far "
            f"{peak['self']:.0f} MB)"
        )
        print(f"    {counts}")
        results["phases"].append(
            {
                "name": name,
                "seconds": round(elapsed, 3),
                "read_seconds": round(report.read_seconds, 3),
                "write_seconds": round(report.write_seconds, 3),
                "cpu_seconds": round(cpu_seconds, 2),
                "files_read": report.files_read,
                "written": report.created + report.updated,
                "peak_rss_mb": peak,
            }
        )

    load("first load")
    results["first_load_peak_rss_mb"] = peak_rss_mb()
    print(f"    peak RSS after the first load: {results['first_load_peak_rss_mb']} MB")
    load("idempotent reload")
    changed = touch(folder, args.articles, 0.01)
    load(f"reload, {changed} files changed")
    if not args.no_full:
        load("full reload (--full)", full=True)
    if args.loaddata:
        # After the reloads: dumpdata holds every row in this process, and the reloads then ran slower (a reload of
        # 10k at 17% of the first load instead of 5%): what they measure is the loader, not the dump's garbage.
        results["loaddata"] = loaddata_seconds(work)
        results["loaddata"]["ratio"] = round(results["loaddata"]["loaddata_seconds"] / rows[0][1], 1)
        print(
            f"loaddata of the same rows: {results['loaddata']['loaddata_seconds']:.2f}s, "
            f"{results['loaddata']['ratio']}x the first load ({'ok' if results['loaddata']['ratio'] >= 30 else 'UNDER'}"
            " 30x)"
        )
    revised = Article.objects.filter(title__endswith="(revised)").count()
    print(f"rows: {Event.objects.count()} events, {Figure.objects.count()} figures; {revised} articles revised")

    first = rows[0][1]
    print()
    print(
        f"{'phase':<30} {'seconds':>9} {'reading':>8} {'writing':>8} {'files read':>11} {'written':>8} {'vs first':>9}"
    )
    for name, elapsed, report in rows:
        print(
            f"{name:<30} {elapsed:>9.2f} {report.read_seconds:>8.2f} {report.write_seconds:>8.2f} "
            f"{report.files_read:>11} {report.created + report.updated:>8} {elapsed / first:>9.1%}"
        )
    idempotent = rows[1][1] / first
    print(f"\nidempotent reload: {idempotent:.1%} of the first load ({'ok' if idempotent <= 0.10 else 'OVER'} 10%)")
    print(f"peak RSS: {peak_rss_mb()} MB (this process; the largest reading worker)")
    results["load_average_after"] = os.getloadavg()
    results["cpu_reference_after"] = cpu_reference()
    print(reference_text(results["cpu_reference_before"], results["cpu_reference_after"]))
    results["peak_rss_mb"] = peak_rss_mb()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"numbers written to {args.json}")


if __name__ == "__main__":
    main()
