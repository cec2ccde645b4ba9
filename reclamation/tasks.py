"""Celery tasks of the reclamation app. They take ids and call services."""

from __future__ import annotations

from celery import shared_task

from .services import reclaiming, sweeps


@shared_task(
    name="reclamation.tasks.reclaim_candidate",
    bind=True,
    acks_late=True,
    autoretry_for=(reclaiming.TransientReclaimError,),
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
    max_retries=6,
)
def reclaim_candidate(self, candidate_id: int) -> str:
    """Remove one approved seat. Safe to run twice (the claim makes the second a no-op) and
    retried with exponential backoff on transient vendor failures; the last attempt moves the
    candidate to Attention Required instead of failing silently."""
    final = self.request.retries >= (self.max_retries or 0)
    return reclaiming.reclaim(candidate_id, final_attempt=final)


@shared_task(name="reclamation.tasks.expire_awaiting_user")
def expire_awaiting_user() -> int:
    """Unanswered notifications past the rule's days → Awaiting Revocation. Also part of the
    daily identification job; exposed for an extra beat entry if a shorter delay matters."""
    return len(sweeps.expire_awaiting_user().done)
