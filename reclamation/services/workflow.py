"""What SAM managers, seat holders and the daily job do to candidates.

Each function moves candidates through :func:`.transitions.transition` (compare-and-set) and
reports which moved and why the others did not. Side effects (the e-mail to the user, the
reclaim task) are queued with ``transaction.on_commit`` and only for the candidates that
actually moved, which is what makes approving twice, or two admins at once, reclaim once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from sam_saas import jobkinds
from sam_saas.connectors import (
    DEFAULT_EFFECT_TEXT,
    ConnectorError,
    get_connector,
    provider_label,
)
from sam_saas.models import SoftwareSubscription

from ..kinds import RECLAIM_CANDIDATE
from ..models import OPEN_STATES, ReclamationCandidate
from . import decisions
from .transitions import CLAIM_LEASE, transition

logger = logging.getLogger(__name__)

State = ReclamationCandidate.State
Sub = SoftwareSubscription

USER_LINK = "user via e-mail link"
DAILY = "daily reclamation"

# Which states each action starts from.
APPROVABLE = (State.AWAITING_APPROVAL,)
REJECTABLE = (State.AWAITING_APPROVAL,)
RECLAIMABLE_NOW = (State.READY, State.ATTENTION_REQUIRED)
CLOSABLE_BY_HAND = (State.READY, State.AWAITING_REVOCATION, State.ATTENTION_REQUIRED)
SKIPPABLE = OPEN_STATES


def effect_text(provider: str) -> str:
    """What reclaiming does at this vendor, from the connector's ``reclaim_effect_text``
    (Calendly: the seat stays billed until the seat count is lowered)."""
    try:
        return get_connector(provider).reclaim_effect_text
    except ConnectorError:
        return DEFAULT_EFFECT_TEXT


def manual_text(provider: str) -> str:
    label = provider_label(provider)
    return (
        f"Reclaiming is off for this profile: remove the seat in {label}, then close "
        "the candidate with “Close complete (removed by hand)”."
    )


@dataclass
class ActionResult:
    """What an action did: the candidates it moved, and for the others why not."""

    done: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)
    queued: list[int] = field(default_factory=list)
    notified: list[int] = field(default_factory=list)
    manual: list[int] = field(default_factory=list)

    def merge(self, other: ActionResult) -> None:
        self.done += other.done
        self.queued += other.queued
        self.notified += other.notified
        self.manual += other.manual


def _labels(states: Iterable[str]) -> str:
    names = dict(State.choices)
    return " or ".join(str(names[s]) for s in states)


def explain_skipped(ids: Iterable[int], done: Iterable[int], allowed: Iterable[str]) -> dict:
    """Why each of ``ids`` not in ``done`` did not move: one query."""
    allowed = tuple(allowed)
    rest = set(ids) - set(done)
    if not rest:
        return {}
    now = timezone.now()
    found = {
        pk: (state, claim)
        for pk, state, claim in ReclamationCandidate.objects.filter(pk__in=rest).values_list(
            "pk", "state", "reclaim_started_at"
        )
    }
    reasons = {}
    for pk in sorted(rest):
        if pk not in found:
            reasons[pk] = "it no longer exists."
            continue
        state, claim = found[pk]
        if claim and claim > now - CLAIM_LEASE and state == State.AWAITING_REVOCATION:
            reasons[pk] = "its seat is being removed right now."
        elif state not in allowed:
            reasons[pk] = f"it is {State(state).label}; only {_labels(allowed)} candidates qualify."
        else:
            reasons[pk] = "someone else changed it at the same time."
    return reasons


def _queue_reclaims(ids: list[int]) -> None:
    """One reclaim task per candidate, once the transition is committed."""
    if not ids:
        return

    def send():
        for pk in ids:
            try:
                jobkinds.send(RECLAIM_CANDIDATE, pk)
            except Exception:
                # Without a broker the task runs inline (and may raise its retry); it must not
                # fail the request that approved. The candidate stays Awaiting Revocation and
                # the daily job queues it again (``requeue_stranded``).
                logger.exception("reclaim of candidate %s could not run now", pk)

    transaction.on_commit(send)


def _queue_notifications(ids: list[int]) -> None:
    if not ids:
        return
    from . import notifications

    transaction.on_commit(lambda: notifications.send(ids))


def _to_revocation(
    candidates,
    from_states,
    actor,
    note: str,
    *,
    label: str = "",
    condition: Q | None = None,
    updates: dict | None = None,
) -> ActionResult:
    """Move to Awaiting Revocation. Profiles with reclaiming on get a reclaim task per moved
    candidate; the others get the "remove by hand, then close" instruction."""
    if isinstance(candidates, models.QuerySet):
        qs = candidates.filter(state__in=from_states)
    else:
        qs = ReclamationCandidate.objects.filter(pk__in=list(candidates), state__in=from_states)
    buckets: dict[tuple, list[int]] = defaultdict(list)
    for pk, enabled, provider in qs.values_list("pk", "profile__reclaim_enabled", "provider"):
        buckets[(bool(enabled), provider)].append(pk)
    result = ActionResult()
    for (enabled, provider), ids in buckets.items():
        message = "Queued for removal through the API." if enabled else manual_text(provider)
        moved = transition(
            ids,
            from_states,
            State.AWAITING_REVOCATION,
            actor,
            " ".join(p for p in (note, "" if enabled else message) if p),
            label=label,
            condition=condition,
            updates={"message": message, "hint": "", **(updates or {})},
        )
        result.done += moved
        (result.queued if enabled else result.manual).extend(moved)
    _queue_reclaims(result.queued)
    return result


def _next_step(ids, from_states, actor, note: str, *, label: str = "") -> ActionResult:
    """After approval (or for Ready candidates): e-mail the user when the rule says so, else
    go straight to Awaiting Revocation. The rule's settings come from the candidate's
    snapshot, so editing the rule later does not change what approving does."""
    to_user: dict[int, list[int]] = defaultdict(list)
    to_revocation: list[int] = []
    rows = ReclamationCandidate.objects.filter(pk__in=list(ids), state__in=from_states)
    for pk, snapshot in rows.values_list("pk", "rule_snapshot"):
        snapshot = snapshot or {}
        if snapshot.get("notify_user"):
            to_user[int(snapshot.get("days_before_reclaim", 7))].append(pk)
        else:
            to_revocation.append(pk)
    result = ActionResult()
    now = timezone.now()
    for days, user_ids in to_user.items():
        respond_by = now + dt.timedelta(days=days)
        moved = transition(
            user_ids,
            from_states,
            State.AWAITING_USER,
            actor,
            " ".join(
                p
                for p in (
                    note,
                    f"E-mailed the user; reclaimed after {days} days without an answer.",
                )
                if p
            ),
            label=label,
            updates={
                "notified_at": now,
                "respond_by": respond_by,
                "user_response": "",
                "responded_at": None,
                "message": f"Waiting for the user's answer until {respond_by:%Y-%m-%d %H:%M} UTC.",
                "hint": "",
            },
        )
        result.done += moved
        result.notified += moved
    _queue_notifications(result.notified)
    result.merge(_to_revocation(to_revocation, from_states, actor, note, label=label))
    return result


# -- SAM manager actions -----------------------------------------------------------------------


def approve(ids: Iterable[int], actor, note: str = "") -> ActionResult:
    """Awaiting Approval → Awaiting User (rule notifies users) or Awaiting Revocation."""
    ids = list(ids)
    with transaction.atomic():
        result = _next_step(ids, APPROVABLE, actor, " ".join(p for p in ("Approved.", note) if p))
    result.skipped = explain_skipped(ids, result.done, APPROVABLE)
    return result


def reject(ids: Iterable[int], actor, reason: str) -> ActionResult:
    """Awaiting Approval → Closed Skipped. A reason is required: it is the record of why the
    seat was kept."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is required to reject a candidate.")
    ids = list(ids)
    with transaction.atomic():
        done = transition(
            ids,
            REJECTABLE,
            State.CLOSED_SKIPPED,
            actor,
            f"Rejected: {reason}",
            updates={"message": f"Rejected: {reason}", "hint": ""},
        )
        decisions.remember_keep(
            done, decision=decisions.Decision.REJECTED, actor=actor, reason=reason
        )
    return ActionResult(done=done, skipped=explain_skipped(ids, done, REJECTABLE))


def reclaim_now(ids: Iterable[int], actor, note: str = "") -> ActionResult:
    """Ready (or Attention Required, once its cause is fixed) → Awaiting Revocation, without
    waiting for the daily job and without notifying the user."""
    ids = list(ids)
    with transaction.atomic():
        result = _to_revocation(
            ids, RECLAIMABLE_NOW, actor, " ".join(p for p in ("Reclaim now.", note) if p)
        )
    result.skipped = explain_skipped(ids, result.done, RECLAIMABLE_NOW)
    return result


def close_skipped(ids: Iterable[int], actor, note: str = "") -> ActionResult:
    """Any open state → Closed Skipped: the seat is kept."""
    ids = list(ids)
    text = note.strip() or "Closed by hand; the seat is kept."
    with transaction.atomic():
        done = transition(
            ids, SKIPPABLE, State.CLOSED_SKIPPED, actor, text, updates={"message": text}
        )
        # Closing by hand keeps the seat: remembered like a rejection.
        decisions.remember_keep(
            done, decision=decisions.Decision.REJECTED, actor=actor, reason=text
        )
    return ActionResult(done=done, skipped=explain_skipped(ids, done, SKIPPABLE))


def close_complete(ids: Iterable[int], actor, note: str = "") -> ActionResult:
    """The seat was removed at the vendor by hand (reclaiming off, or after Attention
    Required): Closed Complete, and the subscription becomes ``reclaimed``."""
    ids = list(ids)
    text = note.strip() or "Removed by hand at the vendor."
    with transaction.atomic():
        done = transition(
            ids,
            CLOSABLE_BY_HAND,
            State.CLOSED_COMPLETE,
            actor,
            text,
            updates={"message": text, "hint": ""},
        )
        mark_reclaimed(done)
    return ActionResult(done=done, skipped=explain_skipped(ids, done, CLOSABLE_BY_HAND))


def mark_reclaimed(candidate_ids: list[int]) -> int:
    """The candidates' subscriptions stop holding a seat."""
    if not candidate_ids:
        return 0
    return (
        Sub.objects.holding_seats()
        .filter(reclamation_candidates__pk__in=candidate_ids)
        .update(status=Sub.Status.RECLAIMED)
    )


# -- the seat holder's answer ------------------------------------------------------------------


def user_keeps(candidate_id: int, nonce: str) -> bool:
    """ "I still need it": Awaiting User → Closed Skipped. ``nonce`` is the link's: the link
    works only while the candidate is still in the transition that sent it."""
    now = timezone.now()
    with transaction.atomic():
        done = transition(
            [candidate_id],
            [State.AWAITING_USER],
            State.CLOSED_SKIPPED,
            None,
            "Kept by the user: “I still need it”.",
            label=USER_LINK,
            condition=Q(last_transition=nonce),
            updates={
                "user_response": ReclamationCandidate.UserResponse.KEEP,
                "responded_at": now,
                "message": "Kept by the user.",
            },
        )
        decisions.remember_keep(
            done,
            decision=decisions.Decision.KEPT_BY_USER,
            actor=None,
            reason="“I still need it”",
            at=now,
        )
    return bool(done)


def user_releases(candidate_id: int, nonce: str) -> bool:
    """ "Release it": Awaiting User → Awaiting Revocation (and the reclaim task)."""
    with transaction.atomic():
        result = _to_revocation(
            [candidate_id],
            [State.AWAITING_USER],
            None,
            "Released by the user: “Release it”.",
            label=USER_LINK,
            condition=Q(last_transition=nonce),
            updates={
                "user_response": ReclamationCandidate.UserResponse.RELEASE,
                "responded_at": timezone.now(),
            },
        )
    return bool(result.done)


# -- the daily job -----------------------------------------------------------------------------


def expire_awaiting_user(now: dt.datetime | None = None) -> ActionResult:
    """Awaiting User past its answer deadline → Awaiting Revocation (set-based)."""
    now = now or timezone.now()
    expired = ReclamationCandidate.objects.filter(state=State.AWAITING_USER, respond_by__lt=now)
    with transaction.atomic():
        return _to_revocation(
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
        return _next_step(
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
    _queue_reclaims(ids)
    return ids
