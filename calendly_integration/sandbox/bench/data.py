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

Every row is recognizable as benchmark data (``PREFIX`` in a profile, alias or publisher
name, ``DOMAIN`` in an e-mail), which is what :mod:`.guard` and :func:`remove` rely on.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone

from sam_saas import jobkinds
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
from sam_saas.services import figures, positions

from .sql import execute, insert_select, scalar

PREFIX = "bench-scale"
DOMAIN = "bench-scale.example"
PROFILES = 8
DEPARTMENTS = (
    "Sales",
    "Engineering",
    "Finance",
    "Support",
    "Marketing",
    "Legal",
    "Operations",
    "People",
    "Product",
    "Design",
    "Security",
    "Executive",
)
Sub = SoftwareSubscription


def bench_profiles():
    return IntegrationProfile.objects.filter(name__startswith=PREFIX)


def existing_size() -> int:
    return Sub.objects.filter(profile__in=bench_profiles()).count()


def _array(values) -> str:
    return "ARRAY[" + ",".join(str(int(v)) for v in values) + "]::bigint[]"


def _text_array(values) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


@transaction.atomic
def build(subscriptions: int) -> dict:
    """Create the data set. Returns what the measurements need (profile ids and so on)."""
    now = timezone.now()
    today = timezone.localdate()
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
                provider="calendly",
                status=IntegrationProfile.Status.PUBLISHED,
                organization_plan="teams",
            )
        )
    _entitlements(models_, profiles, subscriptions, today)
    people = _people(subscriptions // 2 or 1, now)
    _subscriptions(subscriptions, profiles, models_, identifiers, unknown, people, now)
    _job_runs(profiles, subscriptions, now)
    if apps.is_installed("reclamation"):
        _reclamation(profiles, now)
    _snapshots(today)
    return {"profiles": [p.pk for p in profiles]}


def _entitlements(models_, profiles, total: int, today: dt.date) -> None:
    Entitlement.objects.bulk_create(
        [
            Entitlement(
                software_model=models_[0],
                purchased_rights=int(total * 0.55),
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
                start_date=today - dt.timedelta(days=320),
                end_date=today + dt.timedelta(days=45),
                contract_reference=f"{PREFIX}-PO-2",
            ),
            *(
                Entitlement(
                    software_model=models_[2],
                    profile=profile,
                    purchased_rights=max(1, total // 100),
                    unit_cost=Decimal("240.00"),
                    currency="USD",
                    cost_center="CC-EXEC",
                    start_date=today - dt.timedelta(days=100),
                    contract_reference=f"{PREFIX}-PO-3-{n}",
                )
                for n, profile in enumerate(profiles)
            ),
        ]
    )


def _people(count: int, now: dt.datetime) -> tuple[int, int]:
    """``count`` people; returns (first id, count). Every 25th person manages the next 24."""
    insert_select(
        Person,
        {
            "email": f"'p' || g || '@{DOMAIN}'",
            "name": "'Person ' || g",
            "department": f"({_text_array(DEPARTMENTS)})[g % {len(DEPARTMENTS)} + 1]",
            "cost_center": "'CC-' || lpad((g % 20)::text, 2, '0')",
            "active": "g % 40 <> 39",
            "created_at": "now() - (g % 700) * interval '1 day'",
        },
        "generate_series(0::bigint, %s) AS g",
        [count - 1],
    )
    first = scalar("SELECT min(id) FROM sam_saas_person WHERE email LIKE %s", [f"%@{DOMAIN}"])
    last = scalar("SELECT max(id) FROM sam_saas_person WHERE email LIKE %s", [f"%@{DOMAIN}"])
    if last - first + 1 == count:  # one statement gave consecutive ids: managers by arithmetic
        execute(
            "UPDATE sam_saas_person SET manager_id = %s + ((id - %s) / 25) * 25 "
            "WHERE id BETWEEN %s AND %s AND (id - %s) %% 25 <> 0",
            [first, first, first, last, first],
        )
    return first, count


def _subscriptions(total, profiles, models_, identifiers, unknown, people, now) -> None:
    """Seat g belongs to profile g % 8; seats 2k and 2k+1 are the same person's, in two
    profiles. Hash-like arithmetic (g * prime % m) spreads ages without randomness, so two
    builds of the same size are identical."""
    first_person, people_count = people
    p = len(profiles)
    model_of = "(CASE WHEN g % 10 < 6 THEN 1 WHEN g % 10 < 9 THEN 2 ELSE 3 END)"
    insert_select(
        Sub,
        {
            "profile_id": f"({_array(pr.pk for pr in profiles)})[g % {p} + 1]",
            "software_model_id": (
                f"CASE WHEN g % 50 = 49 THEN NULL "
                f"ELSE ({_array(m.pk for m in models_)})[{model_of}] END"
            ),
            "identifier_id": (
                f"CASE WHEN g % 50 = 49 THEN {int(unknown.pk)} "
                f"ELSE ({_array(i.pk for i in identifiers)})[{model_of}] END"
            ),
            "person_id": (
                f"CASE WHEN g % 20 = 7 THEN NULL "
                f"ELSE {int(first_person)} + (g / 2) % {int(people_count)} END"
            ),
            "user_principal_name": (
                f"CASE WHEN g % 20 = 7 THEN 'ext' || g || '@elsewhere.{DOMAIN}' "
                f"WHEN g % 97 = 5 THEN '=cmd' || g || '@{DOMAIN}' "
                f"ELSE 'p' || ((g / 2) % {int(people_count)}) || '@{DOMAIN}' END"
            ),
            "user_name": "CASE WHEN g % 97 = 3 THEN '=User ' || g ELSE 'User ' || g END",
            "external_user_id": f"'https://api.calendly.com/users/{PREFIX}-' || g",
            "external_seat_id": (
                f"CASE WHEN g % 20 = 0 "
                f"THEN 'https://api.calendly.com/organizations/x/invitations/{PREFIX}-' || g "
                f"ELSE 'https://api.calendly.com/organization_memberships/{PREFIX}-' || g END"
            ),
            "kind": "CASE WHEN g % 20 = 0 THEN 'invitation' ELSE 'member' END",
            "role": f"CASE WHEN g < {p} THEN 'owner' WHEN g % 50 = 1 THEN 'admin' ELSE 'user' END",
            "status": (
                "CASE WHEN g % 20 = 0 THEN 'pending' WHEN g % 33 = 1 THEN 'removed' "
                "WHEN g % 97 = 2 THEN 'reclaimed' ELSE 'active' END"
            ),
            "external_created_at": "now() - ((g * 37) % 900 + 5) * interval '1 day'",
            "first_seen_at": "now() - ((g * 13) % 300) * interval '1 day'",
            "last_seen_at": "now()",
            "last_activity_at": (
                "CASE WHEN g % 20 = 0 OR g % 13 = 0 THEN NULL "
                "ELSE now() - ((g * 7919) % 240) * interval '1 day' "
                "- (g % 24) * interval '1 hour' END"
            ),
            "last_activity_source": (
                "CASE WHEN g % 20 = 0 OR g % 13 = 0 THEN '' "
                "WHEN g % 3 = 0 THEN 'activity_log' ELSE 'scheduled_events' END"
            ),
            "excluded_from_cost": "g % 100 = 3",
            "cost_exclusion_reason": "CASE WHEN g % 100 = 3 THEN 'Service account' ELSE '' END",
            "excluded_from_reclamation": "g % 101 = 4",
            "reclamation_exclusion_reason": (
                "CASE WHEN g % 101 = 4 THEN 'Executive assistant' ELSE '' END"
            ),
            "updated_at": "now()",
        },
        "generate_series(0::bigint, %s) AS g",
        [total - 1],
    )


def _job_runs(profiles, total: int, now: dt.datetime) -> None:
    """One finished job result per 50 seats, of every kind and both final statuses, plus the
    successful activity pull identification needs before it judges activity."""
    kinds = [k for k, _ in jobkinds.choices()]
    insert_select(
        JobRun,
        {
            "profile_id": (
                f"CASE WHEN g % 13 = 0 THEN NULL "
                f"ELSE ({_array(pr.pk for pr in profiles)})[g % {len(profiles)} + 1] END"
            ),
            "kind": f"({_text_array(kinds)})[g % {len(kinds)} + 1]",
            "trigger": "CASE WHEN g % 4 = 0 THEN 'manual' ELSE 'schedule' END",
            "status": "CASE WHEN g % 25 = 0 THEN 'failed' ELSE 'succeeded' END",
            "queued_at": "now() - g * interval '20 minutes' - interval '1 hour'",
            "started_at": "now() - g * interval '20 minutes' - interval '1 hour'",
            "finished_at": "now() - g * interval '20 minutes' - interval '58 minutes'",
            "fetched": "g % 5000",
            "api_calls": "g % 60",
            "error_class": "CASE WHEN g % 25 = 0 THEN 'Unauthorized' ELSE '' END",
            "error_message": "CASE WHEN g % 25 = 0 THEN 'The token was revoked.' ELSE '' END",
            "progress_message": f"'{PREFIX}'",  # marks the data set's global runs
        },
        "generate_series(1::bigint, %s) AS g",
        [max(10, total // 50)],
    )
    JobRun.objects.bulk_create(
        JobRun(
            profile=profile,
            kind=JobRun.Kind.ACTIVITY,
            trigger=JobRun.Trigger.SCHEDULE,
            status=JobRun.Status.SUCCEEDED,
            queued_at=now,
            started_at=now,
            finished_at=now,
        )
        for profile in profiles
    )


def _reclamation(profiles, now: dt.datetime) -> None:
    from reclamation.models import OPEN_STATES, CandidateEvent, ReclamationCandidate
    from reclamation.services.rules import ensure_rule

    rules = {profile.pk: ensure_rule(profile) for profile in profiles}
    states = [s for s, _ in ReclamationCandidate.State.choices]
    case = " ".join(f"WHEN {r.profile_id} THEN {r.pk}" for r in rules.values())
    open_states = ",".join(f"'{s}'" for s in OPEN_STATES)
    state = f"({_text_array(states)})[(s.id / 4) % {len(states)} + 1]"
    insert_select(
        ReclamationCandidate,
        {
            "subscription_id": "s.id",
            "profile_id": "s.profile_id",
            "rule_id": f"CASE s.profile_id {case} END",
            "person_id": "s.person_id",
            "user_principal_name": "s.user_principal_name",
            "user_name": "coalesce(p.name, '')",
            "department": "coalesce(p.department, '')",
            "cost_center": "coalesce(p.cost_center, '')",
            "profile_name": "pr.name",
            "provider": "pr.provider",
            "rule_name": "pr.name",
            "seat_kind": "s.kind",
            "justification": (
                "CASE WHEN s.kind = 'invitation' THEN 'stale_invitation' "
                "WHEN s.last_activity_at IS NULL THEN 'never_used' "
                "WHEN p.active = false THEN 'leaver' ELSE 'low_usage' END"
            ),
            "last_activity_at": "s.last_activity_at",
            "last_activity_source": "s.last_activity_source",
            "potential_savings": "120.00",
            "currency": "'USD'",
            "savings_known": "s.id % 7 <> 0",
            "state": state,
            "created_at": "now() - (s.id % 60) * interval '1 day'",
            "state_changed_at": "now() - (s.id % 30) * interval '1 day'",
            "closed_at": (
                f"CASE WHEN {state} IN ({open_states}) THEN NULL "
                f"ELSE now() - (s.id % 30) * interval '1 day' END"
            ),
        },
        "sam_saas_softwaresubscription s "
        "JOIN sam_saas_integrationprofile pr ON pr.id = s.profile_id "
        "LEFT JOIN sam_saas_person p ON p.id = s.person_id "
        "WHERE s.profile_id = ANY(%s) AND s.status IN ('active', 'pending') "
        "AND (s.last_activity_at IS NULL OR s.last_activity_at < now() - interval '120 days') "
        "AND s.id %% 4 = 0",
        [[p.pk for p in profiles]],
    )
    insert_select(
        CandidateEvent,
        {
            "candidate_id": "c.id",
            "at": "c.created_at",
            "actor_label": "'Identification'",
            "from_state": "''",
            "to_state": "c.state",
            "note": "'Raised by the benchmark data set'",
        },
        "reclamation_reclamationcandidate c WHERE c.profile_id = ANY(%s)",
        [[p.pk for p in profiles]],
    )


def _snapshots(today: dt.date) -> None:
    """Today's licence position computed for real, and eight earlier weeks derived from it
    (reconciling nine times over a million seats would triple the build time), and the
    dashboard's stored figures, as the reconcile job leaves them."""
    positions.reconcile(on=today)
    figures.refresh()
    rows = list(LicencePositionSnapshot.objects.filter(date=today))
    earlier = []
    for weeks in range(1, 9):
        for row in rows:
            row.pk = None
            row.date = today - dt.timedelta(weeks=weeks)
            earlier.append(_copy(row))
    LicencePositionSnapshot.objects.filter(
        date__lt=today, software_model__publisher__name__startswith=PREFIX
    ).delete()
    LicencePositionSnapshot.objects.bulk_create(earlier)


def _copy(row):
    clone = LicencePositionSnapshot()
    for field in row._meta.concrete_fields:
        setattr(clone, field.attname, getattr(row, field.attname))
    return clone


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
    database (without them the planner takes the new million rows for an empty table)."""
    tables = [Person, Sub, JobRun]
    if apps.is_installed("reclamation"):
        from reclamation.models import CandidateEvent, ReclamationCandidate

        tables += [ReclamationCandidate, CandidateEvent]
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


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
