"""Profiles needing attention: the connection asks to be connected again, or the profile's
latest finished job run failed. One definition for the dashboard's tile and the profile list's
"needs attention" filter."""

from __future__ import annotations

from django.db.models import OuterRef, Q, QuerySet, Subquery

from ..models import ConnectionAlias, JobRun


def last_finished_status():
    """The status of a profile's latest finished job run, as a subquery on profiles."""
    return (
        JobRun.objects.filter(profile=OuterRef("pk"), finished_at__isnull=False)
        .order_by("-finished_at", "-pk")
        .values("status")[:1]
    )


def needing_attention(profiles: QuerySet) -> QuerySet:
    return profiles.annotate(last_finished_status=Subquery(last_finished_status())).filter(
        Q(alias__connection_status=ConnectionAlias.ConnectionStatus.RECONNECT_REQUIRED)
        | Q(last_finished_status=JobRun.Status.FAILED)
    )
