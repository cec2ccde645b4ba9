"""``manage.py export_report NAME [key=value ...] [--output FILE] [--bom]``

Writes a report as CSV with the same FilterSet and writer as ``/reports/<name>.csv`` and the
admin's "Export CSV" buttons. Filters are ``key=value`` pairs (repeat a key for several
values: ``status=active status=pending``). An unknown or invalid filter stops the command with
the error; nothing is written."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from sam_saas.reports import registry


class Command(BaseCommand):
    help = "Export a report as CSV (the same reports and filters as /reports/<name>.csv)."

    def add_arguments(self, parser):
        names = ", ".join(registry.all_reports())
        parser.add_argument("name", help=f"Report name: {names}.")
        parser.add_argument("filters", nargs="*", metavar="key=value", help="Report filters.")
        parser.add_argument(
            "--output", "-o", default="-", help="File to write; '-' (default) is stdout."
        )
        parser.add_argument(
            "--bom", action="store_true", help="Start with a UTF-8 byte-order mark (Excel)."
        )

    def handle(self, *args, name, filters, output, bom, **options):
        try:
            report = registry.get(name)
        except KeyError:
            known = ", ".join(registry.all_reports())
            raise CommandError(f"No report called {name!r}. Reports: {known}.") from None
        data = QueryDict(mutable=True)
        for item in filters:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CommandError(f"Filters are key=value pairs; got {item!r}.")
            data.appendlist(key.strip(), value)
        try:
            queryset = report.filter(data)
        except registry.ReportFilterError as exc:
            raise CommandError(f"Invalid filter for the {name} report:\n{exc.text()}") from exc
        chunks = report.stream(queryset, bom=bom)
        if output == "-":
            target = sys.stdout.buffer
            for chunk in chunks:
                target.write(chunk)
            target.flush()
            return
        with open(output, "wb") as target:
            for chunk in chunks:
                target.write(chunk)
        self.stderr.write(f"Wrote {report.name} to {output}.")
