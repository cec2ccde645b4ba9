"""What SAM managers do to candidates: approve, reject, reclaim now, retry, close and exclude
(the catalogue of these actions, with their titles and confirmation texts, is ``actions``; the
seat holder's and the manager's answers through the e-mail links are in ``answers``; what the
daily job does on its own is in ``sweeps``).

Each action is made of the moves in ``steps`` and reports which candidates moved and why the
others did not (:func:`.transitions.explain_skipped`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from sam_saas.models import SoftwareSubscription, SubscriptionUserExclusionRule

from ..models import OPEN_STATES, ReclamationCandidate
from . import decisions
from .steps import (
    ActionResult,
    answer_days,
    joined,
    mark_reclaimed,
    next_step,
    revocation_text,
    to_revocation,
    to_user,
)
from .sweeps import resolve_attention
from .transitions import explain_skipped, transition

State = ReclamationCandidate.State
Cause = ReclamationCandidate.AttentionCause
Answer = ReclamationCandidate.UserResponse
Sub = SoftwareSubscription

# Which states each action starts from.
APPROVABLE = (State.AWAITING_APPROVAL,)
REJECTABLE = (State.AWAITING_APPROVAL,)
RECLAIMABLE_NOW = (State.READY, State.ATTENTION_REQUIRED)
RETRYABLE = (State.ATTENTION_REQUIRED,)
CLOSABLE_BY_HAND = (State.READY, State.AWAITING_REVOCATION, State.ATTENTION_REQUIRED)
SKIPPABLE = OPEN_STATES
EXCLUDABLE = OPEN_STATES


def approve(ids: Iterable[int], actor, note: str = "") -> ActionResult:
    """Awaiting Approval → the next step (:func:`.steps.next_state`). For a candidate whose user
    answered "I still need it", approving is the manager's decision: Awaiting Revocation."""
    ids = list(ids)
    with transaction.atomic():
        result = next_step(ids, APPROVABLE, actor, joined("Approved.", note))
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
        result = to_revocation(ids, RECLAIMABLE_NOW, actor, joined("Reclaim now.", note))
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
            renotify[answer_days(snapshot)].append(pk)
        else:
            reclaim.append(pk)
    text = joined("Retry.", note)
    result = ActionResult()
    with transaction.atomic():
        result.merge(to_revocation(reclaim, RETRYABLE, actor, text))
        for days, group in renotify.items():
            moved = to_user(group, RETRYABLE, actor, text, days=days)
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
            f"reclaimed after {answer_days(candidate.rule_snapshot)} days without an answer."
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
