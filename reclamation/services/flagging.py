"""What makes a seat a candidate: the seats a rule may flag, the justification it flags them
for, and the seats a person decided to keep. Identification raises candidates with these
expressions and the rule preview counts with the same ones, so both always agree."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Case, Exists, OuterRef, Q, Value, When

from sam_saas.models import IntegrationProfile, JobRun, SoftwareSubscription
from sam_saas.models.subscriptions import inactive_since_q, seat_since

from ..models import OPEN_STATES, ReclamationCandidate, ReclamationRule

Justification = ReclamationCandidate.Justification
Sub = SoftwareSubscription


def activity_known(profile: IntegrationProfile) -> bool:
    """Activity-based justifications (low usage, never used) need activity data: the profile
    pulls activity and at least one pull succeeded. Without this guard every seat of a fresh
    profile would look "never used" after its first download."""
    return (
        profile.activity_enabled
        and JobRun.objects.filter(
            profile=profile, kind=JobRun.Kind.ACTIVITY, status=JobRun.Status.SUCCEEDED
        ).exists()
    )


def eligible_seats(rule: ReclamationRule, now: dt.datetime) -> models.QuerySet:
    """The profile's seats a rule may flag at all. Never: the owner (also filtered by role,
    belt and braces: the download already excludes it), the connection's own account and every
    other seat excluded from reclamation, and seats inside the grace period (counted from the
    vendor's creation date, or from when we first saw the seat if the vendor gives none)."""
    return (
        Sub.objects.filter(
            profile_id=rule.profile_id,
            excluded_from_reclamation=False,
        )
        .holding_seats()
        .exclude(role__iexact="owner")
        .alias(seat_since=seat_since())
        .filter(seat_since__lt=now - dt.timedelta(days=rule.grace_days))
    )


def justification_expression(
    rule: ReclamationRule,
    now: dt.datetime,
    *,
    inactivity_days: int | None = None,
    with_activity: bool = True,
    output=None,
) -> Case | None:
    """The justification a seat gets from ``rule`` (NULL: none), most compelling first:
    leaver, stale invitation, never used, low usage. ``inactivity_days`` overrides the rule's
    threshold (the preview's 30/60/90/120 columns). None when the rule can flag nothing.

    ``output(justification)`` gives another value per justification instead of its code
    (:func:`kept_back` uses the decision terms)."""
    days = rule.inactivity_days if inactivity_days is None else inactivity_days
    if output is None:

        def output(justification):
            return justification

    whens = []
    if rule.reclaim_leavers:
        whens.append(When(person__active=False, then=Value(output(Justification.LEAVER))))
    if rule.invitation_days is not None:
        whens.append(
            When(
                Q(kind=Sub.Kind.INVITATION)
                & Q(seat_since__lt=now - dt.timedelta(days=rule.invitation_days)),
                then=Value(output(Justification.STALE_INVITATION)),
            )
        )
    if with_activity:
        # Low usage and never used are the seat vocabulary's "inactive since": exactly the
        # seats the dashboard counts as stale at this threshold (``SubscriptionQuerySet.stale``).
        member = Q(kind=Sub.Kind.MEMBER)
        cutoff = now - dt.timedelta(days=days)
        inactive = inactive_since_q(cutoff)
        if rule.include_never_active:
            whens.append(
                When(
                    member & Q(last_activity_at__isnull=True) & inactive,
                    then=Value(output(Justification.NEVER_USED)),
                )
            )
        whens.append(
            When(
                member & Q(last_activity_at__isnull=False) & inactive,
                then=Value(output(Justification.LOW_USAGE)),
            )
        )
    if not whens:
        return None
    return Case(*whens, default=Value(None), output_field=models.CharField())


def kept_back(rule: ReclamationRule, now: dt.datetime, *, with_activity: bool = True) -> Q:
    """Seats a person decided to keep (a rejected candidate, "I still need it", the manager's
    decline) for the very reason the rule would flag them now, under the same threshold, and
    whose "propose again after" period has not passed. New evidence, a different reason or a
    changed threshold lifts the hold by itself; "Propose again now" lifts it by hand."""
    terms_now = justification_expression(
        rule, now, with_activity=with_activity, output=rule.decision_terms
    )
    if terms_now is None:
        return Q(pk__in=[])
    return Q(keep_until__gt=now) & Q(keep_terms=terms_now)


def has_open_candidate() -> Exists:
    return Exists(
        ReclamationCandidate.objects.filter(subscription=OuterRef("pk"), state__in=OPEN_STATES)
    )
