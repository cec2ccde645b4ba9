"""``manage.py bench_reports --subscriptions 100000``: numbers for the reports and dashboard.

Prints, against the configured database (use PostgreSQL and a scratch database: the bench
writes its own profiles, people, seats, candidates, entitlements and today's snapshots):

- CSV export throughput of ``/reports/subscriptions.csv`` (target: at least 50,000 rows/s);
- peak RSS of a fresh process exporting 10,000 and 100,000 rows, and the difference (target:
  under 30 MB: memory must not grow with the rows);
- the overview dashboard's time and query count (target: under 300 ms);
- the subscription changelist's time and query count.

The data is created once and reused by later runs (``--rebuild`` starts again); ``--cleanup``
removes it. A benchmark prints numbers, it does not assert them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from sam_saas.models import (
    ConnectionAlias,
    Entitlement,
    IntegrationProfile,
    JobRun,
    LicencePositionSnapshot,
    Person,
    Publisher,
    SoftwareModel,
    SoftwareSubscription,
    SubscriptionIdentifier,
)
from sam_saas.reports import registry
from sam_saas.services import positions

PREFIX = "bench-reports"
PROFILES = 4
BATCH = 5000
Sub = SoftwareSubscription


def _peak_rss_mb() -> float:
    """This process's peak resident set size. VmHWM, not ``ru_maxrss``: a child started by
    fork and exec inherits its parent's ``ru_maxrss``, which would hide its own peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Command(BaseCommand):
    help = "Benchmark the CSV export, the dashboard and the subscription changelist."

    def add_arguments(self, parser):
        parser.add_argument("--subscriptions", type=int, default=100_000)
        parser.add_argument("--repeat", type=int, default=5, help="Timed runs per page.")
        parser.add_argument("--rebuild", action="store_true", help="Recreate the bench data.")
        parser.add_argument("--cleanup", action="store_true", help="Remove the bench data, exit.")
        parser.add_argument("--rss-probe", type=int, help=argparse.SUPPRESS)

    def handle(self, *args, subscriptions, repeat, rebuild, cleanup, rss_probe, **options):
        if rss_probe:
            self._rss_probe(rss_probe)
            return
        if cleanup:
            self._cleanup()
            self.stdout.write("Bench data removed.")
            return
        if rebuild:
            self._cleanup()
        existing = Sub.objects.filter(profile__name__startswith=PREFIX).count()
        if existing != subscriptions:
            if existing:
                self._cleanup()
            started = time.perf_counter()
            self._create(subscriptions)
            self.stdout.write(
                f"Created {subscriptions:,} subscriptions in {time.perf_counter() - started:.1f}s"
            )
        else:
            self.stdout.write(f"Reusing {existing:,} bench subscriptions.")
        self._snapshots()
        with override_settings(DEBUG=False, ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            client = self._client()
            self.stdout.write(f"Database: {connection.vendor}")
            self._throughput(client, subscriptions)
            self._memory(subscriptions)
            self._page(client, "Dashboard", "/dashboard/", repeat)
            self._page(
                client,
                "Subscription changelist",
                reverse("admin:sam_saas_softwaresubscription_changelist"),
                repeat,
            )

    # -- measurements -----------------------------------------------------------------------

    def _client(self) -> Client:
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=f"{PREFIX}-admin",
            defaults={"is_staff": True, "is_superuser": True, "email": "bench@localhost"},
        )
        client = Client()
        client.force_login(user)
        return client

    def _throughput(self, client: Client, expected: int) -> None:
        url = reverse("sam_reports:csv", args=["subscriptions"])
        figures = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.get(url)
            size = rows = 0
            for chunk in response.streaming_content:
                size += len(chunk)
                rows += chunk.count(b"\r\n")
            elapsed = time.perf_counter() - started
            rows -= 1  # the header
            figures.append((rows / elapsed, elapsed, rows, size))
        best = max(figures)
        self.stdout.write(
            f"CSV export /reports/subscriptions.csv: {best[2]:,} rows ({best[3] / 1e6:.1f} MB) "
            f"in {best[1]:.2f}s = {best[0]:,.0f} rows/s "
            f"(runs: {', '.join(f'{f[0]:,.0f}' for f in figures)} rows/s; target >= 50,000)"
        )
        if best[2] < expected:
            self.stdout.write(f"  note: {expected - best[2]:,} other rows are not bench seats")

    def _memory(self, total: int) -> None:
        small = min(10_000, total)
        peaks = {}
        for rows in (small, total):
            output = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
                [sys.executable, sys.argv[0], "bench_reports", "--rss-probe", str(rows)],
                check=True,
                capture_output=True,
                text=True,
                env=os.environ.copy(),
            ).stdout
            peaks[rows] = float(output.strip().splitlines()[-1])
        difference = peaks[total] - peaks[small]
        self.stdout.write(
            f"Peak RSS exporting {small:,} rows: {peaks[small]:.1f} MB; {total:,} rows: "
            f"{peaks[total]:.1f} MB; difference {difference:.1f} MB (target < 30 MB)"
        )

    def _rss_probe(self, rows: int) -> None:
        """Run in a fresh process: stream ``rows`` rows of the subscriptions report through
        the report writer and print the peak RSS in MB."""
        report = registry.get("subscriptions")
        queryset = report.filter({})[:rows]
        written = 0
        with open(os.devnull, "wb") as sink:
            for chunk in report.stream(queryset):
                written += len(chunk)
                sink.write(chunk)
        self.stdout.write(f"{_peak_rss_mb():.1f}")

    def _page(self, client: Client, name: str, url: str, repeat: int) -> None:
        client.get(url)  # warm caches (templates, content types, permissions)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        query_count = len(queries)  # read now: the next request clears the log
        assert response.status_code == 200, f"{url} returned {response.status_code}"
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        self.stdout.write(
            f"{name}: median {statistics.median(times):.0f} ms, best {min(times):.0f} ms "
            f"over {repeat} runs; {query_count} queries"
        )

    # -- data -------------------------------------------------------------------------------

    def _snapshots(self) -> None:
        """Weekly snapshots for the trend chart (today's replaced on each run)."""
        today = timezone.localdate()
        for weeks in range(8, -1, -1):
            day = today - dt.timedelta(weeks=weeks)
            if weeks and LicencePositionSnapshot.objects.filter(date=day).exists():
                continue
            positions.reconcile(on=day)

    @transaction.atomic
    def _create(self, total: int) -> None:
        rng = random.Random(42)  # noqa: S311 - reproducible fake data
        now = timezone.now()
        publisher, _ = Publisher.objects.get_or_create(name=f"{PREFIX} Calendly")
        models_ = [
            SoftwareModel.objects.create(publisher=publisher, product="Calendly", edition=e)
            for e in ("Teams", "Standard", "Enterprise")
        ]
        identifiers = [
            SubscriptionIdentifier.objects.create(
                provider="calendly", value=f"{PREFIX}-{m.edition.lower()}", software_model=m
            )
            for m in models_
        ]
        for n in range(5):
            SubscriptionIdentifier.objects.create(
                provider="calendly", value=f"{PREFIX}-unknown-{n}"
            )
        profiles = []
        for n in range(PROFILES):
            alias = ConnectionAlias.objects.create(
                name=f"{PREFIX}-alias-{n}",
                provider="calendly",
                connection_status=(
                    ConnectionAlias.ConnectionStatus.RECONNECT_REQUIRED
                    if n == 0
                    else ConnectionAlias.ConnectionStatus.CONNECTED
                ),
            )
            profiles.append(
                IntegrationProfile.objects.create(
                    name=f"{PREFIX}-org-{n}",
                    alias=alias,
                    status=IntegrationProfile.Status.PUBLISHED,
                )
            )
        today = timezone.localdate()
        Entitlement.objects.bulk_create(
            [
                Entitlement(
                    software_model=models_[0],
                    purchased_rights=int(total * 0.6),
                    unit_cost=Decimal("120.00"),
                    currency="USD",
                    cost_center="CC-SALES",
                    start_date=today - dt.timedelta(days=200),
                    contract_reference=f"{PREFIX}-PO-1",
                ),
                Entitlement(
                    software_model=models_[1],
                    purchased_rights=int(total * 0.3),
                    unit_cost=Decimal("8.00"),
                    period=Entitlement.Period.MONTHLY,
                    currency="EUR",
                    cost_center="CC-ENG",
                    start_date=today - dt.timedelta(days=300),
                    end_date=today + dt.timedelta(days=45),
                    contract_reference=f"{PREFIX}-PO-2",
                ),
                Entitlement(
                    software_model=models_[2],
                    profile=profiles[0],
                    purchased_rights=int(total * 0.05),
                    unit_cost=Decimal("240.00"),
                    currency="USD",
                    cost_center="CC-EXEC",
                    start_date=today - dt.timedelta(days=100),
                    contract_reference=f"{PREFIX}-PO-3",
                ),
            ]
        )
        people_count = total // 2
        departments = ["Sales", "Engineering", "Finance", "Support", "Marketing"]
        Person.objects.bulk_create(
            (
                Person(
                    email=f"p{n}@{PREFIX}.example",
                    name=f"Person {n}",
                    department=departments[n % len(departments)],
                    cost_center=f"CC-{n % 12:02d}",
                    active=n % 40 != 0,
                )
                for n in range(people_count)
            ),
            batch_size=BATCH,
        )
        person_ids = list(
            Person.objects.filter(email__endswith=f"@{PREFIX}.example")
            .order_by("pk")
            .values_list("pk", flat=True)
        )

        def seat(n: int) -> Sub:
            model_index = 0 if n % 10 < 6 else (1 if n % 10 < 9 else 2)
            invitation = n % 20 == 0
            never = rng.random() < 0.08
            linked = n % 20 != 7
            return Sub(
                profile=profiles[n % PROFILES],
                software_model=models_[model_index],
                identifier=identifiers[model_index],
                person_id=person_ids[n % len(person_ids)] if linked else None,
                user_principal_name=f"user{n}@{PREFIX}.example",
                user_name=f"User {n}" if n % 97 else f"=User {n}",
                external_user_id=f"https://api.calendly.com/users/{PREFIX}{n}",
                external_seat_id=f"https://api.calendly.com/organization_memberships/{PREFIX}{n}",
                kind=Sub.Kind.INVITATION if invitation else Sub.Kind.MEMBER,
                role="owner" if n == 0 else ("admin" if n % 50 == 0 else "user"),
                status=(
                    Sub.Status.PENDING
                    if invitation
                    else (Sub.Status.REMOVED if n % 33 == 0 else Sub.Status.ACTIVE)
                ),
                external_created_at=now - dt.timedelta(days=rng.randint(10, 900)),
                first_seen_at=now - dt.timedelta(days=rng.randint(1, 300)),
                last_seen_at=now,
                last_activity_at=(
                    None if never or invitation else now - dt.timedelta(days=rng.randint(0, 200))
                ),
                last_activity_source="" if never else "scheduled_events",
                excluded_from_cost=n % 100 == 3,
                cost_exclusion_reason="Service account" if n % 100 == 3 else "",
            )

        for start in range(0, total, BATCH):
            Sub.objects.bulk_create([seat(n) for n in range(start, min(total, start + BATCH))])
        JobRun.objects.bulk_create(
            JobRun(
                profile=profiles[n % PROFILES],
                kind=JobRun.Kind.DOWNLOAD,
                trigger=JobRun.Trigger.SCHEDULE,
                status=JobRun.Status.FAILED if n % 25 == 0 else JobRun.Status.SUCCEEDED,
                queued_at=now - dt.timedelta(hours=n),
                started_at=now - dt.timedelta(hours=n),
                finished_at=now - dt.timedelta(hours=n) + dt.timedelta(seconds=90),
                error_class="Unauthorized" if n % 25 == 0 else "",
            )
            for n in range(500)
        )
        self._candidates(profiles, now)

    def _candidates(self, profiles, now) -> None:
        from django.apps import apps

        if not apps.is_installed("reclamation"):
            return
        from reclamation.models import ReclamationCandidate

        State = ReclamationCandidate.State
        stale = (
            Sub.objects.filter(
                profile__in=profiles,
                status=Sub.Status.ACTIVE,
                last_activity_at__lt=now - dt.timedelta(days=120),
            )
            .order_by("pk")
            .values_list("pk", "profile_id", "user_principal_name", "last_activity_at")
        )
        names = {p.pk: p.name for p in profiles}
        candidates = []
        for n, (pk, profile_id, upn, last) in enumerate(stale.iterator(chunk_size=BATCH)):
            closed = n % 10 == 0
            candidates.append(
                ReclamationCandidate(
                    subscription_id=pk,
                    profile_id=profile_id,
                    user_principal_name=upn,
                    profile_name=names[profile_id],
                    provider="calendly",
                    justification=ReclamationCandidate.Justification.LOW_USAGE,
                    last_activity_at=last,
                    potential_savings=Decimal("120.00"),
                    currency="USD",
                    savings_known=n % 7 != 0,
                    state=State.CLOSED_COMPLETE if closed else State.AWAITING_APPROVAL,
                    closed_at=now - dt.timedelta(days=n % 30) if closed else None,
                )
            )
        ReclamationCandidate.objects.bulk_create(candidates, batch_size=BATCH)

    def _cleanup(self) -> None:
        profiles = IntegrationProfile.objects.filter(name__startswith=PREFIX)
        from django.apps import apps

        with transaction.atomic():
            if apps.is_installed("reclamation"):
                from reclamation.models import ReclamationCandidate

                ReclamationCandidate.objects.filter(profile__in=profiles).delete()
            Sub.objects.filter(profile__in=profiles)._raw_delete(connection.alias)
            models_ = SoftwareModel.objects.filter(publisher__name__startswith=PREFIX)
            Entitlement.objects.filter(software_model__in=models_).delete()
            LicencePositionSnapshot.objects.filter(software_model__in=models_).delete()
            JobRun.objects.filter(profile__in=profiles).delete()
            aliases = list(profiles.values_list("alias_id", flat=True))
            profiles.delete()
            ConnectionAlias.objects.filter(pk__in=aliases).delete()
            SubscriptionIdentifier.objects.filter(value__startswith=PREFIX).delete()
            models_.delete()
            Publisher.objects.filter(name__startswith=PREFIX).delete()
            Person.objects.filter(email__endswith=f"@{PREFIX}.example")._raw_delete(
                connection.alias
            )
