"""Import the company directory from a CSV file (same service as the admin upload page)."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from sam_saas.services.people_csv import COLUMNS, PeopleImportError
from sam_saas.services.people_import import import_people


class Command(BaseCommand):
    help = (
        f"Import people from a UTF-8 CSV file with the header {','.join(COLUMNS)}. "
        "Upserts by e-mail (case-insensitive); nothing is imported if any row is invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file; '-' reads standard input.")
        parser.add_argument(
            "--deactivate-missing",
            action="store_true",
            help="Mark people who are not in the file as inactive (they are never deleted). "
            "Refused above 20%% of the active people unless --max-deactivate covers it.",
        )
        parser.add_argument(
            "--max-deactivate",
            type=int,
            metavar="N",
            help="With --deactivate-missing: allow deactivating up to N people (refused, "
            "nothing imported, if more would be).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate the file and print what would change, without saving anything.",
        )

    def handle(self, *args, **options):
        path = options["file"]
        # The file is read as it is validated, never whole (PEOPLE_IMPORT_MAX_BYTES bounds it).
        try:
            data = sys.stdin.buffer if path == "-" else Path(path).open("rb")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        try:
            result = import_people(
                data,
                deactivate_missing=options["deactivate_missing"],
                dry_run=options["dry_run"],
                max_deactivate=options["max_deactivate"],
                trigger="command",
            )
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
        except PeopleImportError as exc:
            for error in exc.errors:
                self.stderr.write(error)
            raise CommandError(
                f"{len(exc.errors)} error(s) in {path}; nothing was imported."
            ) from exc
        finally:
            if path != "-":
                data.close()
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(warning))
        self.stdout.write(self.style.SUCCESS(result.summary()))
        if result.who():
            self.stdout.write(result.who(limit=10_000))
        if result.run is not None:
            self.stdout.write(
                f"Job result #{result.run.pk} (People import): "
                f"{reverse('admin:sam_saas_jobrun_change', args=[result.run.pk])}"
            )
        if result.rules is not None:
            self.stdout.write(result.rules.summary())
