"""``manage.py bench_people_import [--rows 10000] [--repeat 3]``: time the directory import.

Builds a CSV of that many people (each with a manager, departments and cost centres), imports
it inside a transaction that is rolled back at the end, so the database is left as it was, and
prints rows per second and the queries one import needs. With ``--repeat`` the median is
printed too, since a shared machine makes single figures noisy. Not a test: it measures, it
does not assert (the test suite checks the query count, never the time).
"""

import statistics
import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from sam_saas.services.people_csv import COLUMNS
from sam_saas.services.people_import import import_people


class Rollback(Exception):
    pass


def directory_csv(rows: int) -> bytes:
    lines = [",".join(COLUMNS)]
    for i in range(rows):
        manager = "bench00000@bench.example" if i else ""
        lines.append(f"bench{i:05d}@bench.example,Person {i},Dept {i % 20},CC{i % 7},{manager},yes")
    return ("\n".join(lines) + "\n").encode()


class Command(BaseCommand):
    help = "Time the people import (rolled back: nothing is kept)."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=10_000)
        parser.add_argument("--repeat", type=int, default=3)

    def handle(self, *args, rows, repeat, **options):
        data = directory_csv(rows)
        timings = []
        for attempt in range(1, repeat + 1):
            try:
                with transaction.atomic(), CaptureQueriesContext(connection) as queries:
                    started = time.perf_counter()
                    result = import_people(data)
                    elapsed = time.perf_counter() - started
                    raise Rollback
            except Rollback:
                pass
            timings.append(elapsed)
            self.stdout.write(
                f"run {attempt}: {rows} rows in {elapsed:.2f} s ({rows / elapsed:,.0f} rows/s), "
                f"{len(queries)} queries, {result.created} created"
            )
        self.stdout.write(f"median: {statistics.median(timings):.2f} s for {rows} rows")
