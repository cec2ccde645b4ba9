"""The benchmark's data set, built inside PostgreSQL in seconds.

What a large customer looks like, scaled to ``subscriptions`` seats:

- eight published profiles (one alias each), three software models with entitlements in two
  currencies (one renewing in 45 days, one per profile), recognized and unrecognized
  subscription identifiers;
- one person per two seats, in twelve departments and twenty cost centers, with managers,
  2.5 % leavers; 5 % of seats match nobody (subscriptions without user);
- members and pending invitations (5 %), removed (3 %) and reclaimed (1 %) seats, owners and
  admins; last activity spread over 0–240 days with 8 % never active; cost and reclamation
  exclusions; e-mails and names with spreadsheet formula triggers;
- a reclamation rule per profile, a successful activity pull per profile, job results of
  every kind and status (one per 50 seats), candidates in every state for a quarter of the
  stale seats (identification raises the rest) with their event trail, and nine weekly
  licence-position snapshots.

The rows are written by :mod:`.seats` and :mod:`.history`, with the indexes built once at
the end (:mod:`.bulk`). Every row is recognizable as benchmark data (:mod:`.naming`), which
is what :mod:`.guard` and :func:`remove` rely on.
"""

from __future__ import annotations

import time

from django.apps import apps
from django.db import connection, transaction
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

from . import history, seats
from .bulk import bulk_load
from .naming import DOMAIN, PREFIX, PROFILES
from .sql import execute

__all__ = ["DOMAIN", "PREFIX", "analyze", "bench_profiles", "build", "census", "remove"]
Sub = SoftwareSubscription


def bench_profiles():
    return IntegrationProfile.objects.filter(name__startswith=PREFIX)


def existing_size() -> int:
    return Sub.objects.filter(profile__in=bench_profiles()).count()


@transaction.atomic
def build(subscriptions: int) -> dict:
    """Create the data set. Returns the profile ids and the seconds each step took."""
    now = timezone.now()
    today = timezone.localdate()
    steps: dict[str, float] = {}
    started = time.perf_counter()

    def step(name):
        nonlocal started
        steps[name] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()

    # A scratch data set: its commit need not wait for the WAL flush of a million rows and
    # their indexes (the rows are as durable as PostgreSQL's asynchronous commit makes them).
    execute("SET LOCAL synchronous_commit = off")
    publisher = Publisher.objects.create(name=f"{PREFIX} Calendly")
    models_ = [
        SoftwareModel.objects.create(publisher=publisher, product="Calendly", edition=edition)
        for edition in ("Teams", "Standard", "Enterprise")
    ]
    identifiers = [
        SubscriptionIdentifier.objects.create(
            provider="calendly", value=f"{PREFIX}-{model.edition.lower()}", software_model=model
        )
        for model in models_
    ]
    unknown = SubscriptionIdentifier.objects.create(provider="calendly", value=f"{PREFIX}-basic")
    profiles = [_profile(n) for n in range(PROFILES)]
    seats.entitlements(models_, profiles, subscriptions, today)
    with bulk_load(_big_tables()) as loading:
        people = seats.people(subscriptions // 2 or 1, now)
        step("people")
        seats.subscriptions(subscriptions, profiles, models_, identifiers, unknown, people, now)
        step("subscriptions")
        history.job_runs(profiles, subscriptions, now)
        step("job runs")
        if apps.is_installed("reclamation"):
            history.candidates(profiles, now)
            step("candidates")
    step("indexes")
    statistics()  # the snapshots' reconcile and stored figures plan on real row counts
    step("statistics")
    history.snapshots(today)
    step("snapshots")
    return {"profiles": [p.pk for p in profiles], "steps": steps, **loading}


def _profile(n: int) -> IntegrationProfile:
    alias = ConnectionAlias.objects.create(
        name=f"{PREFIX}-alias-{n}",
        provider="calendly",
        connection_status=(
            ConnectionAlias.ConnectionStatus.RECONNECT_REQUIRED
            if n == 0
            else ConnectionAlias.ConnectionStatus.CONNECTED
        ),
    )
    return IntegrationProfile.objects.create(
        name=f"{PREFIX}-org-{n}",
        alias=alias,
        provider="calendly",
        status=IntegrationProfile.Status.PUBLISHED,
        organization_plan="teams",
    )


def _big_tables() -> list:
    tables = [Person, Sub, JobRun]
    if apps.is_installed("reclamation"):
        from reclamation.models import CandidateEvent, ReclamationCandidate

        tables += [ReclamationCandidate, CandidateEvent]
    return tables


def census() -> dict:
    """How many rows of each kind the data set holds (candidates per state)."""
    profiles = bench_profiles()
    counts = {
        "profiles": profiles.count(),
        "subscriptions": Sub.objects.filter(profile__in=profiles).count(),
        "people": Person.objects.filter(email__endswith=f"@{DOMAIN}").count(),
        "job_runs": JobRun.objects.filter(profile__in=profiles).count(),
        "entitlements": Entitlement.objects.filter(
            software_model__publisher__name__startswith=PREFIX
        ).count(),
    }
    if apps.is_installed("reclamation"):
        from django.db.models import Count

        from reclamation.models import ReclamationCandidate

        counts["candidates"] = dict(
            ReclamationCandidate.objects.filter(profile__in=profiles)
            .values_list("state")
            .annotate(n=Count("pk"))
            .order_by("state")
        )
    return counts


def analyze() -> None:
    """Fresh planner statistics and a vacuumed visibility map, as autovacuum keeps a live
    database (without them the planner takes the new million rows for an empty table).

    The small tables are analyzed too: a never-analyzed profile table is estimated at one
    published profile, and the planner then scans the seats once per profile through the
    profile index instead of once in parallel (the dashboard's seat counts took 3.9 s at 1M
    instead of 0.5 s). A live database's autovacuum analyzes them as profiles change."""
    big = {model._meta.db_table for model in _big_tables()}
    with connection.cursor() as cursor:
        for table in sorted(big):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
        for table in _tables():
            if table not in big:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def statistics() -> None:
    """``ANALYZE`` every table of the data set, inside the build's transaction (``VACUUM``
    cannot run there; :func:`analyze` follows the build)."""
    with connection.cursor() as cursor:
        for table in _tables():
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for label in ("sam_saas", "reclamation")
        if apps.is_installed(label)
        for model in apps.get_app_config(label).get_models()
        if model._meta.managed
    )


def remove() -> None:
    """Delete every benchmark row, and nothing else (set-based: a million rows in seconds)."""
    profile_ids = list(bench_profiles().values_list("pk", flat=True))
    with transaction.atomic():
        if apps.is_installed("reclamation"):
            execute(
                "DELETE FROM reclamation_candidateevent WHERE candidate_id IN "
                "(SELECT id FROM reclamation_reclamationcandidate WHERE profile_id = ANY(%s))",
                [profile_ids],
            )
            execute(
                "DELETE FROM reclamation_reclamationcandidate WHERE profile_id = ANY(%s)",
                [profile_ids],
            )
            from reclamation.models import ReclamationRule

            ReclamationRule.objects.filter(profile_id__in=profile_ids).delete()
        execute(
            "DELETE FROM sam_saas_softwaresubscription WHERE profile_id = ANY(%s)", [profile_ids]
        )
        execute(
            "DELETE FROM sam_saas_jobrun WHERE profile_id = ANY(%s) OR progress_message = %s",
            [profile_ids, PREFIX],
        )
        models_ = SoftwareModel.objects.filter(publisher__name__startswith=PREFIX)
        LicencePositionSnapshot.objects.filter(software_model__in=models_).delete()
        Entitlement.objects.filter(software_model__in=models_).delete()
        aliases = list(bench_profiles().values_list("alias_id", flat=True))
        bench_profiles().delete()
        ConnectionAlias.objects.filter(pk__in=aliases).delete()
        SubscriptionIdentifier.objects.filter(value__startswith=PREFIX).delete()
        models_.delete()
        Publisher.objects.filter(name__startswith=PREFIX).delete()
        execute("UPDATE sam_saas_person SET manager_id = NULL WHERE email LIKE %s", [f"%@{DOMAIN}"])
        execute("DELETE FROM sam_saas_person WHERE email LIKE %s", [f"%@{DOMAIN}"])
