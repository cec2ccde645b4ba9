"""The beat dispatcher: queue the daily refresh of every profile whose time has come."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.utils import timezone

from ..models import IntegrationProfile, JobRun
from . import jobs

logger = logging.getLogger(__name__)


@dataclass
class DispatchResult:
    queued: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def due_profiles(now: dt.datetime):
    return IntegrationProfile.objects.filter(
        status=IntegrationProfile.Status.PUBLISHED, next_refresh_at__lte=now
    ).select_related("alias")


def dispatch_due_refreshes(now: dt.datetime | None = None) -> DispatchResult:
    """For each published profile whose next refresh moment has passed: advance the moment
    with a compare-and-set UPDATE (so two racing dispatchers queue it once), then queue the
    download. The download job queues activity and candidates after it."""
    now = now or timezone.now()
    result = DispatchResult()
    for profile in due_profiles(now):
        following = profile.compute_next_refresh(after=now)
        won = IntegrationProfile.objects.filter(
            pk=profile.pk, next_refresh_at=profile.next_refresh_at
        ).update(next_refresh_at=following)
        if not won:
            result.skipped.append(profile.pk)
            continue
        try:
            jobs.enqueue(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.SCHEDULE)
        except jobs.JobAlreadyOpen:
            logger.info("refresh of %s is still open; not queuing another", profile)
            result.skipped.append(profile.pk)
        else:
            result.queued.append(profile.pk)
    return result
