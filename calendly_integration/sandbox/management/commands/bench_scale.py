"""``manage.py bench_scale --subscriptions 1000000``: the scale benchmark of issue 13.

Builds a realistic data set inside PostgreSQL (``generate_series``, see
``calendly_integration/sandbox/bench/data.py``), then measures every page a SAM manager opens
and every job that grows with the seats: a median of ``--repeat`` runs (at least 5 for figures
that count), with its target and the ratio to it. Prints a Markdown table; ``--json FILE``
writes the same as JSON.

It refuses a database holding anything but benchmark data; ``--database-url`` names a scratch
database instead (created and migrated when missing). The data set is kept between runs of the
same size (``--rebuild`` starts again, ``--cleanup`` removes it). A benchmark prints numbers;
nothing here is a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings

from ...bench import data, download, guard, measures
from ...bench.table import Figure, as_json, load_average, markdown

MEASURES = ("pages", "csv", "memory", "identification", "rejudging", "import", "download")


class Command(BaseCommand):
    help = "Build a large benchmark data set and measure pages and jobs against their targets."

    def add_arguments(self, parser):
        parser.add_argument("--subscriptions", type=int, default=1_000_000)
        parser.add_argument("--repeat", type=int, default=5, help="Timed runs per figure.")
        parser.add_argument(
            "--database-url",
            help="Run against this PostgreSQL database (created and migrated when missing).",
        )
        parser.add_argument("--json", dest="json_path", help="Also write the table as JSON.")
        parser.add_argument(
            "--only", nargs="+", choices=MEASURES, help="Measure only these (default: all)."
        )
        parser.add_argument("--skip", nargs="+", choices=MEASURES, default=[])
        parser.add_argument(
            "--download-members",
            type=int,
            help="Seats in the fake Calendly for the download figures (default: "
            "the smaller of --subscriptions and 100,000).",
        )
        parser.add_argument(
            "--import-rows",
            type=int,
            default=measures.IMPORT_ROWS,
            help="Rows of the people-import file (default 100,000).",
        )
        parser.add_argument("--rebuild", action="store_true", help="Build the data set again.")
        parser.add_argument("--cleanup", action="store_true", help="Remove the data set, exit.")
        parser.add_argument("--rss-probe", type=int, help=argparse.SUPPRESS)
        parser.add_argument("--url-given", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        if options["rss_probe"]:
            self.stdout.write(f"{measures.rss_probe(options['rss_probe']):.1f}")
            return
        if options["database_url"]:
            argv = [a for a in sys.argv[1:] if not a.startswith("--database-url")]
            if "--database-url" in sys.argv:  # "--database-url URL" as two arguments
                index = sys.argv.index("--database-url")
                argv = [a for i, a in enumerate(sys.argv[1:], 1) if i not in (index, index + 1)]
            code = guard.rerun_against(options["database_url"], [*argv, "--url-given"])
            if code:
                raise CommandError(f"bench_scale against --database-url exited with {code}")
            return
        if connection.vendor != "postgresql":
            raise CommandError("bench_scale builds its data inside PostgreSQL; set DATABASE_URL.")
        if not options["url_given"]:
            found = guard.foreign_data()
            if found:
                raise CommandError(guard.refusal(found, connection.settings_dict["NAME"]))
        if options["cleanup"]:
            data.remove()
            self.stdout.write("Benchmark data removed.")
            return
        self._run(options)

    def _run(self, options) -> None:
        size = options["subscriptions"]
        repeat = max(1, options["repeat"])
        chosen = set(options["only"] or MEASURES) - set(options["skip"])
        meta = {
            "subscriptions": size,
            "database": _server_version(),
            "cpus": os.cpu_count(),
            "repeat": repeat,
            "load_before": load_average(),
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        figures: list[Figure] = [self._data_set(size, options["rebuild"])]
        with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            browser = measures.client()
            steps = [
                ("pages", lambda: measures.pages(browser, repeat)),
                ("csv", lambda: [measures.csv_throughput(browser, repeat)]),
                ("memory", lambda: [measures.csv_memory(size, repeat)]),
                ("identification", lambda: [measures.identification(size, repeat)]),
                ("rejudging", lambda: [measures.rejudging(size, repeat)]),
                ("import", lambda: [measures.people_import(repeat, options["import_rows"])]),
                (
                    "download",
                    lambda: download.measure(
                        options["download_members"] or min(size, 100_000), repeat
                    ),
                ),
            ]
            for name, step in steps:
                if name not in chosen:
                    continue
                if name in ("identification",) and not apps.is_installed("reclamation"):
                    continue
                self.stderr.write(f"measuring {name}…")
                measured = step()
                for figure in measured:  # as they come: a million-seat run takes a while
                    self.stderr.write(f"  {figure.name}: {figure.median:,.2f} {figure.unit}")
                figures.extend(measured)
        meta["load_after"] = load_average()
        meta["rows"] = data.census()
        self.stdout.write(markdown(figures, meta))
        if options["json_path"]:
            with open(options["json_path"], "w") as out:
                out.write(as_json(figures, meta))
            self.stdout.write(f"JSON written to {options['json_path']}")

    def _data_set(self, size: int, rebuild: bool) -> Figure:
        existing = data.existing_size()
        if existing == size and not rebuild:
            self.stderr.write(f"reusing the data set of {existing:,} subscriptions")
            data.analyze()  # earlier runs' writes: measure on fresh statistics, as built
            return Figure(
                "Building the data set",
                "s",
                [],
                measures.scaled(60, size),
                note="reused (--rebuild to time it)",
            )
        if existing or data.bench_profiles().exists():
            self.stderr.write("removing the previous data set…")
            data.remove()
        self.stderr.write(f"building {size:,} subscriptions…")
        started = time.perf_counter()
        info = data.build(size)
        built = time.perf_counter() - started
        data.analyze()
        total = time.perf_counter() - started
        info["steps"]["commit"] = round(built - sum(info["steps"].values()), 2)
        steps = ", ".join(f"{name} {seconds:.1f}" for name, seconds in info["steps"].items())
        return Figure(
            "Building the data set",
            "s",
            [total],
            measures.scaled(60, size),
            note=f"one run; {built:.1f} s writing ({steps}), {total - built:.1f} s VACUUM "
            f"ANALYZE; {info['indexes_rebuilt']} indexes built after the load, foreign-key "
            f"triggers {'skipped' if info['fk_triggers_skipped'] else 'fired'}",
            extra={"steps": info["steps"]},
        )


def _server_version() -> str:
    number = connection.pg_version  # e.g. 150020 for 15.20
    return f"PostgreSQL {number // 10000}.{number % 10000}"
