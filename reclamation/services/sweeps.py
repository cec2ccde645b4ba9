"""What the daily job does to candidates on its own, and what resolves itself: unanswered
notifications expire, Ready candidates start, Attention Required for want of a user returns to
Ready once a person matches the seat, and reclaims whose task was lost are queued again. Each
is set-based and made of the moves in ``steps``, so running it twice moves nothing twice.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from sam_saas.models import Person, SoftwareSubscription

from ..models import ReclamationCandidate
from .steps import ActionResult, joined, next_step, queue_reclaims, to_revocation
from .transitions import CLAIM_LEASE, transition

State = ReclamationCandidate.State
Cause = ReclamationCandidate.AttentionCause
Sub = SoftwareSubscription

DAILY = "daily reclamation"
RESOLVED = "attention resolved"


def resolve_attention(
    *, profile=None, profiles=None, ids=None, actor=None, note: str = ""
) -> list[int]:
    """Attention Required for want of a user → Ready, once a person matches the seat (a
    people import, a resolution rule, a download): set-based, and the candidate's person,
    department and cost center are taken from that person. Returns the moved ids."""
    qs = ReclamationCandidate.objects.filter(
        state=State.ATTENTION_REQUIRED,
        attention_cause=Cause.NO_USER,
        subscription__person__isnull=False,
    )
    if profile is not None:
        qs = qs.filter(profile=profile)
    if profiles is not None:
        qs = qs.filter(profile__in=profiles)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    person_id = Subquery(Sub.objects.filter(pk=OuterRef("subscription_id")).values("person_id")[:1])

    def person_field(name):
        return Subquery(
            Person.objects.filter(subscriptions__pk=OuterRef("subscription_id")).values(name)[:1]
        )

    text = "A person now matches the seat: ready for reclamation."
    return transition(
        qs,
        [State.ATTENTION_REQUIRED],
        State.READY,
        actor,
        joined(note, text),
        label="" if actor is not None else RESOLVED,
        updates={
            "person_id": person_id,
            "user_name": person_field("name"),
            "department": person_field("department"),
            "cost_center": person_field("cost_center"),
            "attention_cause": "",
            "message": text,
            "hint": "",
        },
    )


# -- the daily job -----------------------------------------------------------------------------


def expire_awaiting_user(now: dt.datetime | None = None) -> ActionResult:
    """Awaiting User past its answer deadline → Awaiting Revocation (set-based)."""
    now = now or timezone.now()
    expired = ReclamationCandidate.objects.filter(state=State.AWAITING_USER, respond_by__lt=now)
    with transaction.atomic():
        return to_revocation(
            expired,
            [State.AWAITING_USER],
            None,
            "No answer from the user within the rule's days.",
            label=DAILY,
        )


def advance_ready(before: dt.datetime) -> ActionResult:
    """Ready candidates raised before ``before`` (an earlier run: they stayed visible for a
    day) start their reclamation: the user is notified or the seat is revoked. "Reclaim now"
    does it at once."""
    ids = list(
        ReclamationCandidate.objects.filter(state=State.READY, created_at__lt=before).values_list(
            "pk", flat=True
        )
    )
    with transaction.atomic():
        return next_step(
            ids, [State.READY], None, "Ready: the rule requires no approval.", label=DAILY
        )


def requeue_stranded(older_than: dt.timedelta = dt.timedelta(hours=1)) -> list[int]:
    """Queue again the reclaim of Awaiting Revocation candidates whose task was lost (broker
    flushed, worker killed before acking). Harmless when the task is merely late: the claim
    lets only one of them act."""
    now = timezone.now()
    ids = list(
        ReclamationCandidate.objects.filter(
            state=State.AWAITING_REVOCATION,
            profile__reclaim_enabled=True,
            state_changed_at__lt=now - older_than,
        )
        .filter(Q(reclaim_started_at__isnull=True) | Q(reclaim_started_at__lt=now - CLAIM_LEASE))
        .values_list("pk", flat=True)
    )
    queue_reclaims(ids)
    return ids
