"""What the jobs would have left behind by now: job results of every kind, candidates in
every state with their events, and weekly licence-position snapshots (see :mod:`.data`)."""

from __future__ import annotations

import datetime as dt

from sam_saas import jobkinds
from sam_saas.models import JobRun, LicencePositionSnapshot
from sam_saas.services import figures, positions

from .naming import PREFIX, sql_array, sql_text_array
from .sql import insert_select


def job_runs(profiles, total: int, now: dt.datetime) -> None:
    """One finished job result per 50 seats, of every kind and both final statuses, plus the
    successful activity pull identification needs before it judges activity."""
    kinds = [k for k, _ in jobkinds.choices()]
    insert_select(
        JobRun,
        {
            "profile_id": (
                f"CASE WHEN g % 13 = 0 THEN NULL "
                f"ELSE ({sql_array(pr.pk for pr in profiles)})[g % {len(profiles)} + 1] END"
            ),
            "kind": f"({sql_text_array(kinds)})[g % {len(kinds)} + 1]",
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


def candidates(profiles, now: dt.datetime) -> None:
    from reclamation.models import (
        OPEN_STATES,
        CandidateEvent,
        ReclamationCandidate,
        ReclamationRule,
    )

    # The defaults ``ensure_rule`` gives a new profile's rule, created without the post_save
    # signal: a rule saved outside a job refreshes its profile's stored figures once committed
    # (12 s of the build at a million seats), and the build refreshes them once, at its end.
    created = ReclamationRule.objects.bulk_create(
        [ReclamationRule(profile=profile, name=profile.name[:120]) for profile in profiles]
    )
    rules = {rule.profile_id: rule for rule in created}
    states = [s for s, _ in ReclamationCandidate.State.choices]
    case = " ".join(f"WHEN {r.profile_id} THEN {r.pk}" for r in rules.values())
    open_states = ",".join(f"'{s}'" for s in OPEN_STATES)
    state = f"({sql_text_array(states)})[(s.id / 4) % {len(states)} + 1]"
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


def snapshots(today: dt.date) -> None:
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
