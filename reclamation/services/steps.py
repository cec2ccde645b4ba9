"""Where a candidate goes next, and the moves that take it there.

:func:`next_state` is the one answer to "where does approving (or starting a Ready candidate)
take it": the moves below use it, and so does the text of the confirmation pages
(:func:`next_step_text`), so a page says what the action will do. Every move goes through
:func:`.transitions.transition` (compare-and-set) and queues its side effects (the e-mail to
the user, the reclaim task) with ``transaction.on_commit``, only for the candidates that
actually moved: that is what makes approving twice, or two admins at once, reclaim once.

The SAM manager's actions (``workflow``), the e-mail link answers (``answers``) and the daily
sweeps (``sweeps``) are all made of these moves.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from sam_saas import jobkinds
from sam_saas.models import SoftwareSubscription

from ..kinds import RECLAIM_CANDIDATE
from ..models import ReclamationCandidate
from .transitions import transition
from .wording import manual_text, provider_label

logger = logging.getLogger(__name__)

State = ReclamationCandidate.State
Cause = ReclamationCandidate.AttentionCause
Answer = ReclamationCandidate.UserResponse
Sub = SoftwareSubscription


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


def joined(*parts: str) -> str:
    return " ".join(p for p in parts if p)


# -- side effects, after commit ----------------------------------------------------------------


def queue_reclaims(ids: list[int]) -> None:
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


def answer_days(snapshot: dict | None) -> int:
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
            f"need it” and “Release it”; reclaimed after {answer_days(snapshot)} days without an "
            "answer."
        )
    if state == State.ATTENTION_REQUIRED:
        return (
            "→ Attention Required: the rule notifies the user, but no person in the directory "
            "matches this seat. It returns to Ready by itself once one does."
        )
    return revocation_text(candidate)


def to_revocation(
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
            joined(note, "" if enabled else message),
            label=label,
            condition=condition,
            updates={"message": message, "hint": "", "attention_cause": "", **(updates or {})},
        )
        result.done += moved
        (result.queued if enabled else result.manual).extend(moved)
    queue_reclaims(result.queued)
    return result


def to_user(ids, from_states, actor, note: str, *, days: int, label: str = "") -> list[int]:
    """Move to Awaiting User and e-mail the seat holders (after commit)."""
    now = timezone.now()
    respond_by = now + dt.timedelta(days=days)
    moved = transition(
        ids,
        from_states,
        State.AWAITING_USER,
        actor,
        joined(note, f"E-mailed the user; reclaimed after {days} days without an answer."),
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


def next_step(ids, from_states, actor, note: str, *, label: str = "") -> ActionResult:
    """After approval (or for Ready candidates): :func:`next_state` for each candidate."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    rows = ReclamationCandidate.objects.filter(pk__in=list(ids), state__in=from_states)
    for pk, snapshot, person, sub_person, response in rows.values_list(
        "pk", "rule_snapshot", "person_id", "subscription__person_id", "user_response"
    ):
        state = next_state(
            snapshot, has_user=bool(person or sub_person), user_kept=response == Answer.KEEP
        )
        groups[(state, answer_days(snapshot) if state == State.AWAITING_USER else 0)].append(pk)
    result = ActionResult()
    for (state, days), group in groups.items():
        if state == State.AWAITING_USER:
            moved = to_user(group, from_states, actor, note, days=days, label=label)
            result.done += moved
            result.notified += moved
        elif state == State.ATTENTION_REQUIRED:
            moved = transition(
                group,
                from_states,
                State.ATTENTION_REQUIRED,
                actor,
                joined(note, NO_USER_MESSAGE),
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
            result.merge(to_revocation(group, from_states, actor, note, label=label))
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
