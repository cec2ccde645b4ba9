"""``manage.py bench_candidates [--subscriptions 100000] [--repeat 1]``: time identification.

Creates a throwaway published profile with that many seats (``bulk_create``: a mix of recent,
stale and never-active members, leavers, stale invitations, an owner, excluded seats and seats
inside the grace period, with an entitlement so savings are computed), times
:func:`identify` for that profile alone, prints the figure and removes everything it created.
With ``--repeat`` the candidates are deleted and identification timed again; the median is
printed too, since a shared machine makes single figures noisy.

Run it against PostgreSQL; the target is under 3 seconds for 100,000 subscriptions. Not a
test: it measures, it does not assert.
"""

import datetime as dt
import statistics
import time
import uuid

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from reclamation.models import CandidateEvent, ReclamationCandidate, ReclamationRule
from reclamation.services.identification import identify
from reclamation.services.rules import ensure_rule
from sam_saas.models import (
    ConnectionAlias,
    Entitlement,
    IntegrationProfile,
    JobRun,
    Person,
    Publisher,
    SoftwareModel,
    SoftwareSubscription,
)

BATCH = 5000
Sub = SoftwareSubscription


class Command(BaseCommand):
    help = "Time set-based candidate identification on a throwaway profile, then clean up."

    def add_arguments(self, parser):
        parser.add_argument("--subscriptions", type=int, default=100_000)
        parser.add_argument("--people", type=int, default=20_000)
        parser.add_argument("--repeat", type=int, default=1)

    def handle(self, *args, subscriptions, people, repeat, **options):
        tag = uuid.uuid4().hex[:8]
        self.stdout.write(f"Creating {subscriptions} subscriptions in profile bench-{tag}…")
        created = self._create(tag, subscriptions, people)
        profile = created["profile"]
        figures = []
        try:
            # The rule exists before timing, as it does after a profile's first download.
            ensure_rule(profile)
            for attempt in range(max(1, repeat)):
                if attempt:
                    self._delete_candidates(profile)
                self._vacuum()
                start = time.perf_counter()
                result = identify(profiles=[profile])
                elapsed = time.perf_counter() - start
                figures.append(elapsed)
                stored = ReclamationCandidate.objects.filter(profile=profile).count()
                assert stored == result.raised, (stored, result.raised)
                self.stdout.write(
                    f"Identified {result.raised} candidates among {subscriptions} "
                    f"subscriptions in {elapsed:.2f} s ({connection.vendor})."
                )
            if len(figures) > 1:
                self.stdout.write(
                    f"Median of {len(figures)} runs: {statistics.median(figures):.2f} s "
                    f"(best {min(figures):.2f} s)."
                )
        finally:
            self.stdout.write("Cleaning up…")
            self._clean(created)

    def _create(self, tag: str, count: int, people_count: int) -> dict:
        now = timezone.now()
        with transaction.atomic():
            alias = ConnectionAlias.objects.create(name=f"bench-{tag}", provider="bench")
            profile = IntegrationProfile.objects.create(
                name=f"bench-{tag}",
                provider="bench",
                alias=alias,
                status=IntegrationProfile.Status.PUBLISHED,
            )
            # Activity-based justifications need one successful activity pull.
            JobRun.objects.create(
                profile=profile,
                kind=JobRun.Kind.ACTIVITY,
                status=JobRun.Status.SUCCEEDED,
                started_at=now,
                finished_at=now,
            )
            publisher = Publisher.objects.create(name=f"bench-{tag}")
            model = SoftwareModel.objects.create(publisher=publisher, product="Bench")
            entitlement = Entitlement.objects.create(
                software_model=model,
                profile=profile,
                purchased_rights=count,
                unit_cost=12,
                period=Entitlement.Period.MONTHLY,
                start_date=now.date() - dt.timedelta(days=365),
            )
            people = Person.objects.bulk_create(
                [
                    Person(
                        email=f"p{i}-{tag}@bench.example",
                        name=f"Bench {i}",
                        department=f"Dept {i % 12}",
                        active=i % 50 != 0,  # 2 % leavers
                    )
                    for i in range(people_count)
                ],
                batch_size=BATCH,
            )
        rows = []
        for i in range(count):
            invitation = i % 20 == 0
            rows.append(
                Sub(
                    profile=profile,
                    software_model=model,
                    person=people[i % len(people)] if i % 10 else None,
                    user_principal_name=f"u{i}-{tag}@bench.example",
                    external_seat_id=f"bench-{tag}-{i}",
                    kind=Sub.Kind.INVITATION if invitation else Sub.Kind.MEMBER,
                    status=Sub.Status.PENDING if invitation else Sub.Status.ACTIVE,
                    role="owner" if i == 1 else "user",
                    external_created_at=now - dt.timedelta(days=10 if i % 37 == 0 else 400),
                    last_activity_at=(
                        None if i % 13 == 0 else now - dt.timedelta(days=i % 180, hours=i % 24)
                    ),
                    last_activity_source="bench",
                    excluded_from_reclamation=i % 101 == 0,
                )
            )
            if len(rows) >= BATCH:
                Sub.objects.bulk_create(rows)
                rows.clear()
        if rows:
            Sub.objects.bulk_create(rows)
        return {
            "profile": profile,
            "alias": alias,
            "publisher": publisher,
            "model": model,
            "entitlement": entitlement,
            "tag": tag,
        }

    @staticmethod
    def _vacuum() -> None:
        """Steady-state tables, as autovacuum keeps them in a live database: fresh statistics
        (without them the planner takes a 100,000-row table for empty and picks nested loops)
        and no autovacuum worker starting on the new rows in the middle of the timing."""
        tables = [Sub, Person, ReclamationCandidate, CandidateEvent]
        with connection.cursor() as cursor:
            for model in tables:
                table = connection.ops.quote_name(model._meta.db_table)
                verb = "VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE"
                cursor.execute(f"{verb} {table}")

    @staticmethod
    def _delete_candidates(profile) -> None:
        with transaction.atomic():
            CandidateEvent.objects.filter(
                candidate__in=ReclamationCandidate.objects.filter(profile=profile)
            ).delete()
            ReclamationCandidate.objects.filter(profile=profile).delete()

    def _clean(self, created: dict) -> None:
        profile = created["profile"]
        self._vacuum()
        self._delete_candidates(profile)
        with transaction.atomic():
            ReclamationRule.objects.filter(profile=profile).delete()
            created["entitlement"].delete()
            Sub.objects.filter(profile=profile).delete()
            profile.delete()
            created["alias"].delete()
            created["model"].delete()
            created["publisher"].delete()
            Person.objects.filter(email__endswith=f"-{created['tag']}@bench.example").delete()
