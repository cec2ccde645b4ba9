"""Removing one approved seat through the vendor's connector.

Exactly once, even with two workers, a redelivered message or a retried task: the task first
*claims* the candidate (``reclaim_started_at``, compare-and-set on Awaiting Revocation and no
live claim). Only the claimer talks to the vendor; other transitions leave a claimed candidate
alone. A transient failure releases the claim and raises :class:`TransientReclaimError` for
Celery to retry with backoff; a claim whose worker died expires after ``CLAIM_LEASE``.

Right before the API call the connector is asked for the seat's latest activity: a seat used
since the candidate was raised is not removed (Closed Canceled).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone

from sam_saas.connectors import ConnectorError, ReclaimOutcome, get_connector
from sam_saas.models import SoftwareSubscription

from ..models import ReclamationCandidate
from . import transitions
from .steps import mark_reclaimed
from .transitions import transition, unclaimed
from .wording import manual_text

logger = logging.getLogger(__name__)

State = ReclamationCandidate.State
Sub = SoftwareSubscription
TASK = "reclaim task"
VANISHED = "The subscription no longer exists at the vendor: counted as reclaimed."
RETRY_HINT = "Fix the cause, then use “Retry” to reclaim again, or close the candidate."


class TransientReclaimError(Exception):
    """The vendor failed in a way worth retrying (timeout, 5xx, rate limit)."""


class Outcome:
    NOT_CLAIMED = "not_claimed"
    MANUAL = "manual"
    COMPLETE = "closed_complete"
    SKIPPED = "closed_skipped"
    CANCELED = "closed_canceled"
    ATTENTION = "attention_required"


def claim(candidate_id: int, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return bool(
        ReclamationCandidate.objects.filter(pk=candidate_id, state=State.AWAITING_REVOCATION)
        .filter(unclaimed(now))
        .update(reclaim_started_at=now)
    )


def release(candidate_id: int) -> None:
    ReclamationCandidate.objects.filter(pk=candidate_id).update(reclaim_started_at=None)


def _finish(candidate_id: int, to_state: str, note: str, *, message: str = "", hint: str = ""):
    updates = {"reclaim_started_at": None, "message": message or note, "hint": hint}
    if to_state == State.ATTENTION_REQUIRED:
        updates["attention_cause"] = ReclamationCandidate.AttentionCause.RECLAIM_FAILED
    return transition(
        [candidate_id],
        [State.AWAITING_REVOCATION],
        to_state,
        None,
        note,
        label=TASK,
        claimed=True,
        updates=updates,
    )


def _resumed(candidate: ReclamationCandidate, latest: dt.datetime | None) -> bool:
    """Any activity the candidate did not know about: its evidence is out of date. (A
    "never used" seat found used 100 days ago is not never used either; the next
    identification raises it again with the right justification.)"""
    if latest is None:
        return False
    return candidate.last_activity_at is None or latest > candidate.last_activity_at


def _record_activity(subscription: Sub, latest: dt.datetime) -> None:
    """Keep the subscription in step with what the final check learnt, so the next
    identification does not raise the same seat again."""
    Sub.objects.filter(pk=subscription.pk).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=latest)
    ).update(
        last_activity_at=latest,
        last_activity_source="reclaim check",
        last_activity_evidence="",
    )


def reclaim(candidate_id: int, *, final_attempt: bool = True) -> str:
    """Reclaim one candidate in Awaiting Revocation. Returns an :class:`Outcome` value.

    Raises :class:`TransientReclaimError` for a retryable vendor failure unless
    ``final_attempt``, in which case the candidate goes to Attention Required instead."""
    if not claim(candidate_id):
        logger.info("candidate %s is not awaiting revocation or is claimed: skipped", candidate_id)
        return Outcome.NOT_CLAIMED
    candidate = ReclamationCandidate.objects.select_related(
        "profile", "subscription__profile__alias"
    ).get(pk=candidate_id)
    subscription, profile = candidate.subscription, candidate.profile

    if subscription is None or not subscription.holds_seat:
        # ServiceNow: Awaiting Revocation with its subscription gone is Closed Complete.
        _finish(candidate_id, State.CLOSED_COMPLETE, VANISHED)
        return Outcome.COMPLETE
    if profile is None:
        _finish(
            candidate_id,
            State.CLOSED_SKIPPED,
            "The integration profile was removed: the seat cannot be reached.",
        )
        return Outcome.SKIPPED
    if not profile.reclaim_enabled:
        release(candidate_id)
        text = manual_text(candidate.provider or profile.provider)
        ReclamationCandidate.objects.filter(pk=candidate_id).update(message=text)
        transitions.record(candidate_id, text, label=TASK)
        return Outcome.MANUAL

    try:
        connector = get_connector(profile.provider)
        latest = connector.latest_activity(subscription)
        if _resumed(candidate, latest):
            _record_activity(subscription, latest)
            _finish(
                candidate_id,
                State.CLOSED_CANCELED,
                f"Activity resumed: the final check found activity on {latest:%Y-%m-%d %H:%M} "
                "UTC, after what the candidate was raised on. The seat was not removed.",
            )
            return Outcome.CANCELED
        outcome = connector.reclaim_subscription(subscription)
    except ConnectorError as exc:
        if exc.retryable and not final_attempt:
            release(candidate_id)
            transitions.record(candidate_id, f"Transient failure, will retry: {exc}", label=TASK)
            raise TransientReclaimError(str(exc)) from exc
        prefix = "Gave up after repeated transient failures: " if exc.retryable else ""
        _finish(
            candidate_id,
            State.ATTENTION_REQUIRED,
            f"{prefix}{exc}",
            # A transient error's own hint promises a next run; after giving up, "Retry" is it.
            hint=RETRY_HINT if exc.retryable else (exc.hint or RETRY_HINT),
        )
        return Outcome.ATTENTION
    except Exception as exc:
        logger.exception("reclaiming candidate %s failed unexpectedly", candidate_id)
        _finish(
            candidate_id,
            State.ATTENTION_REQUIRED,
            f"Unexpected error: {type(exc).__name__}: {exc}",
            hint="See the worker log for the traceback; then “Retry” to reclaim again.",
        )
        return Outcome.ATTENTION

    return _apply_outcome(candidate_id, outcome)


def _apply_outcome(candidate_id: int, outcome: ReclaimOutcome) -> str:
    if outcome.result == ReclaimOutcome.Result.REMOVED:
        note = "Removed at the vendor." + (f" {outcome.message}" if outcome.message else "")
        if _finish(candidate_id, State.CLOSED_COMPLETE, note):
            mark_reclaimed([candidate_id])
        return Outcome.COMPLETE
    if outcome.result == ReclaimOutcome.Result.ALREADY_GONE:
        note = "Already removed at the vendor (not found there); counted as reclaimed." + (
            f" {outcome.message}" if outcome.message else ""
        )
        if _finish(candidate_id, State.CLOSED_COMPLETE, note):
            mark_reclaimed([candidate_id])
        return Outcome.COMPLETE
    # Refused (owner, self, SCIM, invitation already accepted, missing scope): retrying the
    # same call cannot help, a person must act.
    _finish(
        candidate_id,
        State.ATTENTION_REQUIRED,
        f"The vendor refused: {outcome.message}" if outcome.message else "The vendor refused.",
        message=outcome.message or "The vendor refused to remove the seat.",
        hint=outcome.hint or RETRY_HINT,
    )
    return Outcome.ATTENTION
