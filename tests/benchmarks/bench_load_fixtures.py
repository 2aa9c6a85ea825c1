"""Benchmark ``load_fixtures`` at scale: ``python tests/benchmarks/bench_load_fixtures.py --articles 100000``.

Generates a synthetic data set (one YAML file per article, like ``fixtures/``: a ~1.5 KB body, two
events with participants and two figures each), loads it into a fresh database, then loads it again
(the idempotent run), and prints the time of each phase. Uses DATABASE_URL when set (it must point at
a scratch database: everything in it is dropped), otherwise a temporary SQLite file.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PARAGRAPH = (
    "Analysts said the mining-machine market stayed tight through the quarter, with delivery times stretching "
    "as miners raced to replace older rigs before the halving. "
)


def generate(folder: Path, articles: int, companies: int = 500) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "companies.yaml").write_text(
        yaml.safe_dump(
            {
                "companies": [
                    {"slug": f"co-{n}", "name": f"Company {n}", "kind": "miner", "aliases": [f"Co {n}"]}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsdb-bench-"))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "newsdb.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from articles.models import Event, Figure
    from articles.services import fixtures

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    call_command("migrate", verbosity=0)

    started = time.perf_counter()
    generate(work / "fixtures", args.articles)
    print(f"generated {args.articles} article files in {time.perf_counter() - started:.1f}s ({work})")

    for run in ("first load", "second load (idempotent)"):
        report = fixtures.fixtures_load(paths=[work / "fixtures"])
        counts = {name: vars(c) for name, c in report.counts.items()}
        print(
            f"{run} on {connection.vendor}: {report.read_seconds + report.write_seconds:.1f}s "
            f"(reading and validating {report.read_seconds:.1f}s, writing {report.write_seconds:.1f}s)"
        )
        print(f"    {counts}")
    print(f"rows: {Event.objects.count()} events, {Figure.objects.count()} figures")


if __name__ == "__main__":
    main()
