"""``python manage.py load_fixtures [PATH ...] [--full] [--dry-run]``: load the curated data set, all or nothing."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from articles.services.fixtures import FixtureError, LoadError, TerminalProgress, fixtures_load


class Command(BaseCommand):
    help = (
        "Validate and load the curated fixtures (default: the project's fixtures/ folder). Writes nothing if "
        "any record is invalid; a reload is idempotent, skips files unchanged since the last load, and keeps "
        "editors' work (naming every record it kept). A second load while one runs fails at once."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("paths", nargs="*", help="Fixture files or folders (default: fixtures/).")
        parser.add_argument("--dry-run", action="store_true", help="Validate and count, then roll everything back.")
        parser.add_argument(
            "--full", action="store_true", help="Read every file, also those unchanged since the last load."
        )

    def handle(self, *args, paths: list[str], dry_run: bool, full: bool, **options) -> None:
        paths = paths or [str(settings.BASE_DIR / "fixtures")]
        # Progress goes to stderr, and only when it is a terminal: logs and CI output stay as they were.
        progress = TerminalProgress(self.stderr._out)
        try:
            report = fixtures_load(paths=paths, dry_run=dry_run, full=full, progress=progress)
        except FixtureError as exc:
            count = len(exc.problems)
            raise CommandError(
                f"{count} problem{'s' if count != 1 else ''} in the fixtures; nothing was loaded:\n{exc}"
            ) from exc
        except LoadError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            progress.finish()
        read = f"Read {report.files_read} of {len(report.files)} fixture file(s)"
        if report.files_skipped:
            read += f"; {report.files_skipped} unchanged since the last load were not read (--full reads them)"
        self.stdout.write(read + ".")
        self.stdout.write(f"{'':<10} {'created':>8} {'updated':>8} {'unchanged':>10} {'kept':>6}")
        for name, counts in report.counts.items():
            self.stdout.write(
                f"{name:<10} {counts.created:>8} {counts.updated:>8} {counts.unchanged:>10} {counts.kept:>6}"
            )
        for kept in report.kept_records:
            self.stdout.write(self.style.WARNING(str(kept)))
        summary = f"{report.created} created, {report.updated} updated"
        if report.kept:
            summary += f", {report.kept} kept as an editor left them (the fixtures differ)"
        if report.conflicts:
            summary += f"; {len(report.conflicts)} of them changed by an editor while this load ran"
        if dry_run:
            summary += " (dry run: nothing was written)"
        self.stdout.write(self.style.SUCCESS(summary + "."))
