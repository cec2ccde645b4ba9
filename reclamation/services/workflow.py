"""What SAM managers and the daily job do to candidates (the seat holder's and the manager's
answers through the e-mail links are in ``answers``; the catalogue of actions is ``actions``).

Each function moves candidates through :func:`.transitions.transition` (compare-and-set) and
reports which moved and why the others did not. Side effects (the e-mail to the user, the
reclaim task) are queued with ``transaction.on_commit`` and only for the candidates that
actually moved, which is what makes approving twice, or two admins at once, reclaim once.

Where a candidate goes next is decided in one place, :func:`next_state`: the transitions use it
and so does the text of the confirmation pages, so the page says what the action will do.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from sam_saas import jobkinds
from sam_saas.models import Person, SoftwareSubscription, SubscriptionUserExclusionRule

from ..kinds import RECLAIM_CANDIDATE
from ..models import OPEN_STATES, ReclamationCandidate
from . import decisions
from .transitions import CLAIM_LEASE, transition
from .wording import effect_text, manual_text, provider_label, state_labels

logger = logging.getLogger(__name__)

State = ReclamationCandidate.State
Cause = ReclamationCandidate.AttentionCause
Answer = ReclamationCandidate.UserResponse
Sub = SoftwareSubscription

DAILY = "daily reclamation"
RESOLVED = "attention resolved"

__all__ = ["effect_text", "manual_text", "provider_label"]

# Which states each action starts from.
APPROVABLE = (State.AWAITING_APPROVAL,)
REJECTABLE = (State.AWAITING_APPROVAL,)
RECLAIMABLE_NOW = (State.READY, State.ATTENTION_REQUIRED)
RETRYABLE = (State.ATTENTION_REQUIRED,)
CLOSABLE_BY_HAND = (State.READY, State.AWAITING_REVOCATION, State.ATTENTION_REQUIRED)
SKIPPABLE = OPEN_STATES
EXCLUDABLE = OPEN_STATES


@dataclass
class ActionResult:
    """What an action did: the candidates it moved, and for the others why not."""

    done: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)
    queued: list[int] = field(default_factory=list)
    notified: list[int] = field(default_factory=list)
    manual: list[int] = field(default_factory=list)
    attention: list[int] = field(default_factory=list)
    # Objects the action created that the SAM manager should see next (the exclusion rule).
    created: list = field(default_factory=list)

    def merge(self, other: ActionResult) -> None:
        self.done += other.done
        self.queued += other.queued
        self.notified += other.notified
        self.manual += other.manual
        self.attention += other.attention
        self.created += other.created


def _joined(*parts: str) -> str:
    return " ".join(p for p in parts if p)


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
            reasons[pk] = (
                f"it is {State(state).label}; only {state_labels(allowed)} candidates qualify."
            )
        else:
            reasons[pk] = "someone else changed it at the same time."
    return reasons


# -- side effects, after commit ----------------------------------------------------------------


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


# -- where a candidate goes next ---------------------------------------------------------------


def next_state(snapshot: dict | None, *, has_user: bool, user_kept: bool) -> str:
    """Where approving (or starting a Ready candidate) takes it. The rule's settings come from
    the candidate's snapshot, so editing the rule later does not change what approving does.

    - the user already answered "I still need it" (the manager's approval): Awaiting Revocation;
    - the rule notifies users: Awaiting User, or Attention Required when no person matches
      the seat (nobody to ask, and no manager to decide: ServiceNow's "user field empty");
    - otherwise: Awaiting Revocation."""
    if user_kept:
        return State.AWAITING_REVOCATION
    if (snapshot or {}).get("notify_user"):
        return State.AWAITING_USER if has_user else State.ATTENTION_REQUIRED
    return State.AWAITING_REVOCATION


def _days(snapshot: dict | None) -> int:
    return int((snapshot or {}).get("days_before_reclaim", 7))


def has_user(candidate: ReclamationCandidate) -> bool:
    return bool(candidate.person_id or _subscription_person_id(candidate))


def _subscription_person_id(candidate) -> int | None:
    subscription = getattr(candidate, "subscription", None) if candidate.subscription_id else None
    return getattr(subscription, "person_id", None)


def revocation_text(candidate: ReclamationCandidate) -> str:
    label = provider_label(candidate.provider)
    if candidate.profile_id and candidate.profile and candidate.profile.reclaim_enabled:
        return f"→ Awaiting Revocation, then removed through the {label} API (see the note above the table)."
    return "→ Awaiting Revocation. " + manual_text(candidate.provider)


def next_step_text(candidate: ReclamationCandidate) -> str:
    """What :func:`next_state` will do to this candidate, in words."""
    snapshot = candidate.rule_snapshot or {}
    state = next_state(
        snapshot,
        has_user=has_user(candidate),
        user_kept=candidate.user_response == Answer.KEEP,
    )
    if state == State.AWAITING_USER:
        return (
            f"→ Awaiting User: e-mail to {candidate.user_principal_name} with “I still "
            f"need it” and “Release it”; reclaimed after {_days(snapshot)} days without an "
            "answer."
        )
    if state == State.ATTENTION_REQUIRED:
        return (
            "→ Attention Required: the rule notifies the user, but no person in the directory "
            "matches this seat. It returns to Ready by itself once one does."
        )
    return revocation_text(candidate)


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
            _joined(note, "" if enabled else message),
            label=label,
            condition=condition,
            updates={"message": message, "hint": "", "attention_cause": "", **(updates or {})},
        )
        result.done += moved
        (result.queued if enabled else result.manual).extend(moved)
    _queue_reclaims(result.queued)
    return result


def _to_user(ids, from_states, actor, note: str, *, days: int, label: str = "") -> list[int]:
    """Move to Awaiting User and e-mail the seat holders (after commit)."""
    now = timezone.now()
    respond_by = now + dt.timedelta(days=days)
    moved = transition(
        ids,
        from_states,
        State.AWAITING_USER,
        actor,
        _joined(note, f"E-mailed the user; reclaimed after {days} days without an answer."),
        label=label,
        updates={
            "notified_at": now,
            "respond_by": respond_by,
            "user_response": "",
            "responded_at": None,
            "manager_email": "",
            "attention_cause": "",
            "message": f"Waiting for the user's answer until {respond_by:%Y-%m-%d %H:%M} UTC.",
            "hint": "",
        },
    )
    _queue_notifications(moved)
    return moved


NO_USER_MESSAGE = (
    "The rule notifies the user, but no person in the directory matches this seat, so "
    "nobody can be asked (and no manager can decide)."
)
NO_USER_HINT = (
    "Import the person (People › Import) or add a user resolution rule: the candidate then "
    "returns to Ready by itself. Or use “Reclaim now” or “Close skipped”."
)


def _next_step(ids, from_states, actor, note: str, *, label: str = "") -> ActionResult:
    """After approval (or for Ready candidates): :func:`next_state` for each candidate."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    rows = ReclamationCandidate.objects.filter(pk__in=list(ids), state__in=from_states)
    for pk, snapshot, person, sub_person, response in rows.values_list(
        "pk", "rule_snapshot", "person_id", "subscription__person_id", "user_response"
    ):
        state = next_state(
            snapshot, has_user=bool(person or sub_person), user_kept=response == Answer.KEEP
        )
        groups[(state, _days(snapshot) if state == State.AWAITING_USER else 0)].append(pk)
    result = ActionResult()
    for (state, days), group in groups.items():
        if state == State.AWAITING_USER:
            moved = _to_user(group, from_states, actor, note, days=days, label=label)
            result.done += moved
            result.notified += moved
        elif state == State.ATTENTION_REQUIRED:
            moved = transition(
                group,
                from_states,
                State.ATTENTION_REQUIRED,
                actor,
                _joined(note, NO_USER_MESSAGE),
                label=label,
                updates={
                    "attention_cause": Cause.NO_USER,
                    "message": NO_USER_MESSAGE,
                    "hint": NO_USER_HINT,
                },
            )
            result.done += moved
            result.attention += moved
        else:
            result.merge(_to_revocation(group, from_states, actor, note, label=label))
    return result


# -- SAM manager actions -----------------------------------------------------------------------


def approve(ids: Iterable[int], actor, note: str = "") -> ActionResult:
    """Awaiting Approval → the next step (:func:`next_state`). For a candidate whose user
    answered "I still need it", approving is the manager's decision: Awaiting Revocation."""
    ids = list(ids)
    with transaction.atomic():
        result = _next_step(ids, APPROVABLE, actor, _joined("Approved.", note))
    result.skipped = explain_skipped(ids, result.done, APPROVABLE)
    return result


def reject(ids: Iterable[int], actor, reason: str) -> ActionResult:
    """Awaiting Approval → Closed Skipped, or Closed Canceled for a candidate whose user asked
    to keep the seat (the SAM approver declines in the manager's place). A reason is required:
    it is the record of why the seat was kept, and the decision is remembered on the seat."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is required to reject a candidate.")
    ids = list(ids)
    kept = set(
        ReclamationCandidate.objects.filter(pk__in=ids, user_response=Answer.KEEP).values_list(
            "pk", flat=True
        )
    )
    with transaction.atomic():
        declined = transition(
            [pk for pk in ids if pk in kept],
            REJECTABLE,
            State.CLOSED_CANCELED,
            actor,
            f"Declined: {reason}",
            condition=Q(user_response=Answer.KEEP),
            updates={"message": f"Declined: {reason}", "hint": ""},
        )
        rejected = transition(
            [pk for pk in ids if pk not in kept],
            REJECTABLE,
            State.CLOSED_SKIPPED,
            actor,
            f"Rejected: {reason}",
            condition=~Q(user_response=Answer.KEEP),
            updates={"message": f"Rejected: {reason}", "hint": ""},
        )
        decisions.remember_keep(
            declined, decision=decisions.Decision.DECLINED_BY_MANAGER, actor=actor, reason=reason
        )
        decisions.remember_keep(
            rejected, decision=decisions.Decision.REJECTED, actor=actor, reason=reason
        )
    done = sorted(declined + rejected)
    return ActionResult(done=done, skipped=explain_skipped(ids, done, REJECTABLE))


def reject_text(candidate: ReclamationCandidate) -> str:
    if candidate.user_response == Answer.KEEP:
        return (
            "→ Closed Canceled: the removal is declined (in the manager's place); the seat is "
            "kept and not proposed again for the rule's period."
        )
    return "→ Closed Skipped: the seat is kept and not proposed again for the rule's period."


def reclaim_now(ids: Iterable[int], actor, note: str = "") -> ActionResult:
    """Ready (or Attention Required, once its cause is fixed) → Awaiting Revocation, without
    waiting for the daily job and without notifying the user."""
    ids = list(ids)
    with transaction.atomic():
        result = _to_revocation(ids, RECLAIMABLE_NOW, actor, _joined("Reclaim now.", note))
    result.skipped = explain_skipped(ids, result.done, RECLAIMABLE_NOW)
    return result


def retry(ids: Iterable[int], actor, note: str = "") -> ActionResult:
    """Attention Required → run again what failed: a failed reclaim goes back to Awaiting
    Revocation (and its reclaim task), a failed e-mail is sent again (Awaiting User), and a
    candidate without a user returns to Ready if a person matches its seat now."""
    ids = list(ids)
    reclaim: list[int] = []
    renotify: dict[int, list[int]] = defaultdict(list)  # days to answer → ids
    no_user: list[int] = []
    rows = ReclamationCandidate.objects.filter(pk__in=ids, state__in=RETRYABLE)
    for pk, cause, snapshot in rows.values_list("pk", "attention_cause", "rule_snapshot"):
        if cause == Cause.NO_USER:
            no_user.append(pk)
        elif cause == Cause.NOTIFY_FAILED:
            renotify[_days(snapshot)].append(pk)
        else:
            reclaim.append(pk)
    text = _joined("Retry.", note)
    result = ActionResult()
    with transaction.atomic():
        result.merge(_to_revocation(reclaim, RETRYABLE, actor, text))
        for days, group in renotify.items():
            moved = _to_user(group, RETRYABLE, actor, text, days=days)
            result.done += moved
            result.notified += moved
        if no_user:
            result.done += resolve_attention(ids=no_user, actor=actor, note=text)
    result.skipped = explain_skipped(ids, result.done, RETRYABLE)
    for pk in no_user:
        if pk in result.skipped:
            result.skipped[pk] = "still no person in the directory matches its seat."
    return result


def retry_text(candidate: ReclamationCandidate) -> str:
    cause = candidate.attention_cause or Cause.RECLAIM_FAILED
    if cause == Cause.NO_USER:
        return (
            "→ Ready if a person in the directory matches the seat now (then notified by the "
            "daily run); otherwise it stays Attention Required."
        )
    if cause == Cause.NOTIFY_FAILED:
        return (
            f"→ Awaiting User: the e-mail to {candidate.user_principal_name} is sent again; "
            f"reclaimed after {_days(candidate.rule_snapshot)} days without an answer."
        )
    return revocation_text(candidate)


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


def exclude_user(ids: Iterable[int], actor, reason: str) -> ActionResult:
    """ "Exclude this user": a user exclusion rule for each candidate's e-mail (kept out of
    reclamation from now on, with the reason), and the candidates Closed Skipped with that
    reason. The created rules are returned for the SAM manager to review."""
    from sam_saas.services.rules import apply_rules

    reason = (reason or "").strip()
    if not reason:
        raise ValueError("A reason is required to exclude a user.")
    ids = list(ids)
    text = f"User excluded from reclamation: {reason}"
    result = ActionResult()
    with transaction.atomic():
        result.done = transition(
            ids, EXCLUDABLE, State.CLOSED_SKIPPED, actor, text, updates={"message": text}
        )
        moved = ReclamationCandidate.objects.filter(pk__in=result.done)
        emails = {e.lower(): e for e in moved.values_list("user_principal_name", flat=True)}
        existing = {
            e.lower()
            for e in SubscriptionUserExclusionRule.objects.filter(
                active=True, exclude_from_reclamation=True
            ).values_list("email_pattern", flat=True)
        }
        for key, email in sorted(emails.items()):
            if key in existing:
                continue
            result.created.append(
                SubscriptionUserExclusionRule.objects.create(
                    email_pattern=email,
                    exclude_from_reclamation=True,
                    reason=reason[:300],
                )
            )
        if result.created:
            profiles = {c.profile for c in moved.select_related("profile") if c.profile_id}
            for profile in profiles:
                apply_rules(profile)
    result.skipped = explain_skipped(ids, result.done, EXCLUDABLE)
    return result


def mark_reclaimed(candidate_ids: list[int]) -> int:
    """The candidates' subscriptions stop holding a seat."""
    if not candidate_ids:
        return 0
    return (
        Sub.objects.holding_seats()
        .filter(reclamation_candidates__pk__in=candidate_ids)
        .update(status=Sub.Status.RECLAIMED)
    )


# -- Attention Required resolving itself ---------------------------------------------------


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
        _joined(note, text),
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
