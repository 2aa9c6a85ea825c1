"""``python manage.py ingest_article FILE --published-on YYYY-MM-DD``: add an article from its text, with proposals.

The article, its mentions and the events and figures the extraction proposes are written by ``article_ingest``
(``articles.services.ingest``); the proposals stay hidden until an editor accepts them in the admin's review desk.
The same text sent twice is recognised and not stored again. Bad input (an empty or binary file, a text over the
size limit, an unknown publisher, a date that cannot be read) is an error that writes nothing.
"""

import json
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from articles.services.ingest import MAX_TEXT_BYTES, article_ingest


class Command(BaseCommand):
    help = (
        "Add an article from its text FILE ('-' reads standard input): the article, the companies and people it "
        "names, and the events and figures proposed for an editor's review. Prints a summary, or with --json the "
        "proposals. The same text twice is recognised; --dry-run writes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The article's text (UTF-8), or - for standard input.")
        parser.add_argument("--published-on", required=True, help="Publication date, YYYY-MM-DD.")
        parser.add_argument(
            "--precision", default="day", help="How well the date is known: day (default), month or year."
        )
        parser.add_argument("--title", default="", help="The title (default: the text's first line).")
        parser.add_argument("--publisher", default="", help="The publisher's company slug.")
        parser.add_argument("--url", default="", help="Where the article was published.")
        parser.add_argument("--language", default="en", help="Language of the text (default: en).")
        parser.add_argument("--json", action="store_true", help="Print the proposals as JSON.")
        parser.add_argument("--dry-run", action="store_true", help="Extract and validate, then write nothing.")

    def handle(self, *args, **options) -> None:
        raw = self._read(options["file"])
        try:
            result = article_ingest(
                text=raw,
                published_on=options["published_on"],
                precision=options["precision"],
                title=options["title"],
                publisher=options["publisher"],
                url=options["url"],
                language=options["language"],
                source="command",
                dry_run=options["dry_run"],
            )
        except ValidationError as exc:
            problems = [f"{name}: {message}" for name, messages in exc.message_dict.items() for message in messages]
            raise CommandError(f"Nothing was written. {' '.join(problems)}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
            return
        if not result.created:
            self.stdout.write(
                self.style.WARNING(
                    f"This text was already ingested as {result.article.slug!r} ({result.article.title}); "
                    "nothing was written."
                )
            )
            return
        mentions = result.mentions
        dry = " (dry run: nothing was written)" if result.dry_run else ""
        self.stdout.write(f"Article {result.article.slug!r}: {result.article.title}{dry}")
        self.stdout.write(
            f"  mentions: {len(mentions['companies'])} companies, {len(mentions['people'])} people"
            + (f"; {len(mentions['probable'])} probable" if mentions["probable"] else "")
            + (f"; {len(mentions['new_companies'])} new organisation name(s)" if mentions["new_companies"] else "")
        )
        self.stdout.write(f"  proposed: {len(result.figures)} figures, {len(result.events)} events")
        for line in result.skipped:
            self.stdout.write(self.style.WARNING(f"  left out (invalid): {line}"))
        if not result.dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Review the proposals at /admin/articles/article/{result.article.pk}/review/ "
                    "(nothing proposed is public until an editor accepts it)."
                )
            )

    def _read(self, name: str) -> bytes:
        if name == "-":
            return sys.stdin.buffer.read(MAX_TEXT_BYTES + 1)
        path = Path(name)
        if not path.is_file():
            raise CommandError(f"Nothing was written. {name}: no such file.")
        size = path.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise CommandError(
                f"Nothing was written. text: {name} is {size / 1024 / 1024:.1f} MB; an article's text is at most "
                f"{MAX_TEXT_BYTES // 1024} kB."
            )
        try:
            with path.open("rb") as handle:
                # Never more than the limit and one byte: enough to say the file is too large.
                return handle.read(MAX_TEXT_BYTES + 1)
        except OSError as exc:
            raise CommandError(f"Nothing was written. {name}: cannot be read: {exc.strerror or exc}") from exc
