"""``python manage.py export_fixtures [DIR]``: write the database back as fixture files (default: fixtures/).

Loading ``fixtures/`` into an empty database and exporting it reproduces the files byte for byte, comment lines
aside: the database holds no comments, so an export into an empty folder has none, and an export over existing
files keeps theirs (the block at the top of a file and the blocks right above a record). Proposals (proposed events
and figures, and rejected proposals) are never exported; a figure's status is, when it is not ``reported``. See
``articles.services.fixtures.exporting``.
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from articles.services.fixtures import TerminalProgress
from articles.services.fixtures.exporting import fixtures_export


class Command(BaseCommand):
    help = (
        "Write the database as fixture files into DIR (default: fixtures/): companies.yaml and one file per "
        "article. Files whose bytes would not change are left alone; files of articles no longer in the database "
        "are removed. Proposals are not exported."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("folder", nargs="?", help="The folder to write (default: fixtures/).")

    def handle(self, *args, folder: str | None, **options) -> None:
        folder = folder or str(settings.BASE_DIR / "fixtures")
        progress = TerminalProgress(self.stderr._out)
        try:
            report = fixtures_export(folder=folder, progress=progress)
        finally:
            progress.finish()
        self.stdout.write(
            f"Exported {report.companies} companies, {report.people} people and {report.articles} articles "
            f"({report.events} events, {report.figures} figures) to {folder} in {report.seconds:.1f} s."
        )
        for name in report.removed:
            self.stdout.write(self.style.WARNING(f"Removed {name}: its article is no longer in the database."))
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(report.written)} file(s) written, {report.unchanged} unchanged, {len(report.removed)} removed."
            )
        )
