"""Pull user activity: when each seat holder last did something that counts as use.

Calendly has no "last active" field. On the Enterprise plan the activity log says it (any entry
by a member counts; a login also sets "last login"); elsewhere, or when the log is refused,
hosting a scheduled event counts, as in ServiceNow's Calendly integration.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sam_saas.models import IntegrationProfile, JobRun, SoftwareSubscription
from sam_saas.services import jobs
from sam_saas.services.connections import record_check

from .client import CalendlyClient
from .connection import build_client, check_connection
from .errors import Forbidden

logger = logging.getLogger(__name__)

# Re-read a little of what the last run already saw: entries can land in the log late.
INCREMENTAL_OVERLAP = dt.timedelta(hours=1)
# Reference: https://developer.calendly.com/api-docs (activity log entries are kept 90 days)
LOG_RETENTION = dt.timedelta(days=90)


class Source:
    ACTIVITY_LOG = "calendly_activity_log"
    SCHEDULED_EVENTS = "calendly_scheduled_events"


@dataclass
class Sighting:
    at: dt.datetime
    evidence: str
    login_at: dt.datetime | None = None


def _merge(seen: dict[str, Sighting], user_uri: str, at, evidence: str, login: bool) -> None:
    current = seen.get(user_uri)
    if current is None:
        current = seen[user_uri] = Sighting(at=at, evidence=evidence)
    elif at > current.at:
        current.at, current.evidence = at, evidence
    if login and (current.login_at is None or at > current.login_at):
        current.login_at = at


# Reference: https://developer.calendly.com/api-docs/d37c7f031f339-list-activity-log-entries
def sightings_from_log(entries: list[dict]) -> dict[str, Sighting]:
    seen: dict[str, Sighting] = {}
    for entry in entries:
        actor = entry.get("actor") or {}
        if actor.get("type") != "User" or not actor.get("uri"):
            continue  # system entries are nobody's use
        at = parse_datetime(entry["occurred_at"])
        login = entry.get("namespace") == "User" and entry.get("action") == "Login"
        _merge(seen, actor["uri"], at, entry.get("uri", ""), login)
    return seen


# Reference: https://developer.calendly.com/api-docs/2d5ed9bbd2952-list-events
def sightings_from_events(events: list[dict], now: dt.datetime) -> dict[str, Sighting]:
    """Hosting an event counts from its start; an event still in the future counts from when
    it was booked, so a busy host is never reported as idle and no date lies in the future."""
    seen: dict[str, Sighting] = {}
    for event in events:
        start = parse_datetime(event["start_time"])
        at = start if start <= now else parse_datetime(event.get("created_at") or "") or now
        at = min(at, now)
        for membership in event.get("event_memberships") or []:
            if membership.get("user"):
                _merge(seen, membership["user"], at, event.get("uri", ""), False)
    return seen


def apply_sightings(profile: IntegrationProfile, seen: dict[str, Sighting], source: str) -> int:
    """Move last activity forward (never back) for the seats of these users: one read and at
    most one bulk write per page."""
    if not seen:
        return set()
    subs = list(
        SoftwareSubscription.objects.filter(profile=profile, external_user_id__in=list(seen)).only(
            "pk", "external_user_id", "last_activity_at", "last_login_at"
        )
    )
    dirty = []
    for sub in subs:
        sighting = seen[sub.external_user_id]
        changed = False
        if sub.last_activity_at is None or sighting.at > sub.last_activity_at:
            sub.last_activity_at = sighting.at
            sub.last_activity_source = source
            sub.last_activity_evidence = sighting.evidence[:300]
            changed = True
        if sighting.login_at and (
            sub.last_login_at is None or sighting.login_at > sub.last_login_at
        ):
            sub.last_login_at = sighting.login_at
            changed = True
        if changed:
            dirty.append(sub)
    if dirty:
        SoftwareSubscription.objects.bulk_update(
            dirty,
            ["last_activity_at", "last_activity_source", "last_activity_evidence", "last_login_at"],
        )
    return {sub.pk for sub in dirty}


def window_start(profile: IntegrationProfile, now: dt.datetime) -> dt.datetime:
    """Backfill from the profile's "analyze activity from" date on the first run; afterwards
    poll from the last successful run, with an overlap."""
    analyze_from = dt.datetime.combine(profile.analyze_activity_from, dt.time.min, tzinfo=dt.UTC)
    last = (
        JobRun.objects.filter(
            profile=profile, kind=JobRun.Kind.ACTIVITY, status=JobRun.Status.SUCCEEDED
        )
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if last is None:
        return analyze_from
    return max(analyze_from, last - INCREMENTAL_OVERLAP)


def _pull(client, run, profile, pages, to_sightings, source) -> None:
    """Apply page by page, so memory stays flat however long the log; ``updated`` counts
    seats whose last activity moved, each once."""
    moved: set[int] = set()
    for page in pages:
        moved |= apply_sightings(profile, to_sightings(page), source)
        run.updated = len(moved)
        jobs.add_counts(run, fetched=len(page))
        jobs.report_progress(run, min(95, run.progress + 5), f"Read {run.fetched:,} records")


def pull_activity(profile: IntegrationProfile, run: JobRun) -> None:
    now = timezone.now()
    client: CalendlyClient = build_client(profile, stats=run)
    with client:
        check = check_connection(client, profile.alias)
        record_check(profile, check, run)
        since = window_start(profile, now)
        org = check.organization_uri
        if check.plan == "enterprise":
            try:
                _pull(
                    client,
                    run,
                    profile,
                    client.iter_activity_log(
                        org,
                        min_occurred_at=max(since, now - LOG_RETENTION),
                        max_occurred_at=now,
                    ),
                    sightings_from_log,
                    Source.ACTIVITY_LOG,
                )
                return
            except Forbidden as exc:
                run.warnings = [
                    *run.warnings,
                    f"The activity log was refused ({exc.message or exc.title}); "
                    f"used scheduled events instead. {exc.hint}".strip(),
                ]
        _pull(
            client,
            run,
            profile,
            client.iter_scheduled_events(org, min_start_time=since, max_start_time=None),
            lambda page: sightings_from_events(page, now),
            Source.SCHEDULED_EVENTS,
        )


def latest_activity(subscription: SoftwareSubscription) -> dt.datetime | None:
    """The newest activity of one seat holder since its recorded last activity: the final
    check right before a seat is removed."""
    if not subscription.external_user_id:
        return None  # a pending invitation has no user yet
    profile = subscription.profile
    now = timezone.now()
    since = subscription.last_activity_at or dt.datetime.combine(
        profile.analyze_activity_from, dt.time.min, tzinfo=dt.UTC
    )
    client = build_client(profile)
    with client:
        org = profile.organization_uri
        if profile.organization_plan == "enterprise":
            try:
                for page in client.iter_activity_log(
                    org,
                    min_occurred_at=max(since, now - LOG_RETENTION),
                    count=1,
                    sort="occurred_at:desc",
                    actor=subscription.external_user_id,
                ):
                    hit = sightings_from_log(page).get(subscription.external_user_id)
                    return hit.at if hit else None
                return None
            except Forbidden:
                pass
        newest = None
        for page in client.iter_scheduled_events(
            org, min_start_time=since, user=subscription.external_user_id
        ):
            hit = sightings_from_events(page, now).get(subscription.external_user_id)
            if hit and (newest is None or hit.at > newest):
                newest = hit.at
        return newest
