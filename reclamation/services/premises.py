"""Closing open candidates whose premise broke: the seat vanished at the vendor (Closed
Skipped, or Closed Complete while awaiting revocation), it shows activity newer than the
candidate knew (Closed Canceled), it became excluded from reclamation, or its leaver came back
(Closed Skipped).

Identification runs these before raising new candidates, the download runs
:func:`close_vanished` for its profile, and ``seats_rejudged`` (a rule change, a people
import) runs :func:`after_rejudge`. Each is one compare-and-set UPDATE driven from the open
candidates: the seat is reached by a scalar subquery on its primary key, never by joining
every seat of the table (at a million seats that join was a sequential scan of all of them, four
times per run, for the few thousand candidates that are open).
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import BooleanField, Case, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact

from sam_saas.models import IntegrationProfile, SoftwareSubscription

from ..models import OPEN_STATES, ReclamationCandidate
from .transitions import transition

State = ReclamationCandidate.State
Justification = ReclamationCandidate.Justification
Sub = SoftwareSubscription

IDENTIFICATION = "candidate identification"
DOWNLOAD = "subscription download"
RULE_CHANGE = "rule change"

# Earlier than any recorded activity: "newer than the candidate knew" for a candidate that
# knew none (a never-used seat) is "any activity".
BEFORE_ANY_ACTIVITY = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


def _seat(condition: Q, *, missing: bool = False) -> Exact:
    """The candidate's seat satisfies ``condition`` (``missing``: what a seat row that is gone
    counts as): a scalar subquery on the seat's primary key. Not ``EXISTS``: PostgreSQL turns
    that into a join, which it planned as a scan of every seat; a scalar subquery stays one
    index lookup per open candidate."""
    boolean = BooleanField()
    hit = Case(When(condition, then=Value(True)), default=Value(False), output_field=boolean)
    seat = Sub.objects.filter(pk=OuterRef("subscription_id")).order_by().values(hit=hit)[:1]
    found = Coalesce(Subquery(seat, output_field=boolean), Value(missing), output_field=boolean)
    return Exact(found, True)


def _open(profile: IntegrationProfile | None = None, profiles=None) -> models.QuerySet:
    qs = ReclamationCandidate.objects.filter(state__in=OPEN_STATES)
    if profile is not None:
        qs = qs.filter(profile=profile)
    if profiles is not None:
        qs = qs.filter(profile__in=profiles)
    return qs


def close_vanished(profile: IntegrationProfile | None = None, *, profiles=None) -> list[int]:
    """Close the open candidates whose seat disappeared at the vendor (the download set the
    subscription to ``removed``, or the row is gone), as ServiceNow does: Awaiting Revocation
    becomes Closed Complete (the seat is gone, as the workflow wanted), any other open state
    Closed Skipped (nobody decided to remove it). Call it after a download for one profile;
    identification calls it for all. Returns the closed ids."""
    vanished = _open(profile, profiles).filter(
        Q(subscription__isnull=True) | _seat(Q(status=Sub.Status.REMOVED), missing=True)
    )
    revoked = transition(
        vanished.filter(state=State.AWAITING_REVOCATION),
        [State.AWAITING_REVOCATION],
        State.CLOSED_COMPLETE,
        note="The subscription no longer exists at the vendor while awaiting revocation: "
        "counted as reclaimed.",
        label=DOWNLOAD,
    )
    others = [s for s in OPEN_STATES if s != State.AWAITING_REVOCATION]
    skipped = transition(
        vanished.filter(state__in=others),
        others,
        State.CLOSED_SKIPPED,
        note="The subscription no longer exists at the vendor: nothing left to reclaim.",
        label=DOWNLOAD,
    )
    return sorted(revoked + skipped)


def cancel_resumed(profile: IntegrationProfile | None = None, *, profiles=None) -> list[int]:
    """Close as Closed Canceled the open candidates whose seat shows activity newer than the
    candidate recorded (or any activity, for a never-used one)."""
    known = Coalesce(
        OuterRef("last_activity_at"),
        Value(BEFORE_ANY_ACTIVITY, output_field=models.DateTimeField()),
    )
    resumed = _open(profile, profiles).filter(_seat(Q(last_activity_at__gt=known)))
    return transition(
        resumed,
        OPEN_STATES,
        State.CLOSED_CANCELED,
        note="Activity resumed: the seat was used after the candidate was raised.",
        label=IDENTIFICATION,
    )


def close_excluded(
    profile: IntegrationProfile | None = None, *, profiles=None, label: str = IDENTIFICATION
) -> list[int]:
    """Close as Closed Skipped the open candidates whose seat became excluded from reclamation
    (a user exclusion rule added since, for example)."""
    excluded = _open(profile, profiles).filter(_seat(Q(excluded_from_reclamation=True)))
    return transition(
        excluded,
        OPEN_STATES,
        State.CLOSED_SKIPPED,
        note="The seat is now excluded from reclamation.",
        label=label,
    )


def close_returned_leavers(
    profile: IntegrationProfile | None = None, *, profiles=None, label: str = IDENTIFICATION
) -> list[int]:
    """Close as Closed Skipped the open leaver candidates whose seat's person is no longer
    inactive in the directory (reactivated by an import, or another person matched by a
    resolution rule or by hand)."""
    returned = (
        _open(profile, profiles)
        .filter(justification=Justification.LEAVER)
        .filter(_seat(Q(person__isnull=True) | Q(person__active=True)))
    )
    return transition(
        returned,
        OPEN_STATES,
        State.CLOSED_SKIPPED,
        note="The seat's person is no longer a leaver in the directory.",
        label=label,
    )


def after_rejudge(sender, profile_ids=None, **kwargs) -> int:
    """``seats_rejudged``: the rules re-judged stored seats; close the open candidates whose
    premise broke, at once. Returns how many were closed."""
    profiles = None if profile_ids is None else list(profile_ids)
    closed = close_excluded(profiles=profiles, label=RULE_CHANGE)
    closed += close_returned_leavers(profiles=profiles, label=RULE_CHANGE)
    return len(closed)
