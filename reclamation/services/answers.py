"""The answers that arrive through the signed e-mail links: the seat holder's ("I still need
it", "Release it") and, after a keep, their manager's (approve or decline the removal).

ServiceNow's order: Awaiting User → "Release it" → Awaiting Revocation; "I still need it" →
Awaiting Approval, where the user's manager (``Person.manager``) decides: decline → Closed
Canceled with the seat kept (the decision is remembered on the seat), approve → Awaiting
Revocation. A user without a manager goes to the SAM approvers, who decide in the admin.

Every answer is a compare-and-set on the link's nonce (the candidate's ``last_transition``):
a link works once, and only while the candidate is still in the transition that sent it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import ReclamationCandidate
from . import decisions
from .steps import to_revocation
from .transitions import transition

State = ReclamationCandidate.State
Answer = ReclamationCandidate.UserResponse

USER_LINK = "user via e-mail link"
MANAGER_LINK = "manager via e-mail link"


def manager_of(candidate: ReclamationCandidate):
    """The seat holder's manager who can be asked: active, with an e-mail, not the holder."""
    person = candidate.person
    if person is None and candidate.subscription_id and candidate.subscription:
        person = candidate.subscription.person
    manager = getattr(person, "manager", None)
    if manager is None or not manager.active or not manager.email or manager.pk == person.pk:
        return None
    return manager


def user_keeps(candidate_id: int, nonce: str) -> bool:
    """ "I still need it": Awaiting User → Awaiting Approval, and the manager is e-mailed their
    approve and decline links (or, with no manager, the SAM approvers are told)."""
    candidate = (
        ReclamationCandidate.objects.select_related("person__manager", "subscription__person")
        .filter(pk=candidate_id)
        .first()
    )
    if candidate is None:
        return False
    manager = manager_of(candidate)
    now = timezone.now()
    days = int((candidate.rule_snapshot or {}).get("days_before_reclaim", 7))
    until = now + dt.timedelta(days=days)
    if manager is not None:
        message = (
            f"Kept by the user. Waiting for their manager {manager.email} to approve or decline "
            f"the removal (links valid until {until:%Y-%m-%d %H:%M} UTC); SAM approvers can "
            "decide in the admin too."
        )
    else:
        message = (
            "Kept by the user. No manager on record: a SAM approver decides (Approve removes "
            "the seat, Reject keeps it)."
        )
    with transaction.atomic():
        done = transition(
            [candidate_id],
            [State.AWAITING_USER],
            State.AWAITING_APPROVAL,
            None,
            "Kept by the user: “I still need it”. " + message.removeprefix("Kept by the user. "),
            label=USER_LINK,
            condition=Q(last_transition=nonce),
            updates={
                "user_response": Answer.KEEP,
                "responded_at": now,
                "respond_by": until if manager else None,
                "manager_email": manager.email if manager else "",
                "message": message,
                "hint": "",
            },
        )
        # The user's answer is data too: remembered on the seat (replaced by the manager's
        # decline, and moot once the seat is reclaimed).
        decisions.remember_keep(
            done,
            decision=decisions.Decision.KEPT_BY_USER,
            actor=None,
            reason="“I still need it”",
            at=now,
        )
        if done:
            from . import notifications

            if manager is not None:
                transaction.on_commit(lambda: notifications.send_to_manager(candidate_id))
            else:
                transaction.on_commit(lambda: notifications.tell_approvers(candidate_id))
    return bool(done)


def user_releases(candidate_id: int, nonce: str) -> bool:
    """ "Release it": Awaiting User → Awaiting Revocation (and the reclaim task)."""
    with transaction.atomic():
        result = to_revocation(
            [candidate_id],
            [State.AWAITING_USER],
            None,
            "Released by the user: “Release it”.",
            label=USER_LINK,
            condition=Q(last_transition=nonce),
            updates={"user_response": Answer.RELEASE, "responded_at": timezone.now()},
        )
    return bool(result.done)


def _manager_label(candidate_id: int) -> str:
    email = (
        ReclamationCandidate.objects.filter(pk=candidate_id)
        .values_list("manager_email", flat=True)
        .first()
    )
    return f"{email} ({MANAGER_LINK})" if email else MANAGER_LINK


def _asked(nonce: str) -> Q:
    return Q(last_transition=nonce, user_response=Answer.KEEP)


def manager_approves(candidate_id: int, nonce: str) -> bool:
    """The manager approves the removal: Awaiting Approval → Awaiting Revocation."""
    label = _manager_label(candidate_id)
    with transaction.atomic():
        result = to_revocation(
            [candidate_id],
            [State.AWAITING_APPROVAL],
            None,
            "The manager approved the removal.",
            label=label[:150],
            condition=_asked(nonce),
        )
    return bool(result.done)


def manager_declines(candidate_id: int, nonce: str) -> bool:
    """The manager declines the removal: Closed Canceled, and the seat is kept: the decision
    is remembered on the seat, so it is not proposed again for the rule's period."""
    label = _manager_label(candidate_id)
    text = "The manager declined the removal: the seat is kept."
    with transaction.atomic():
        done = transition(
            [candidate_id],
            [State.AWAITING_APPROVAL],
            State.CLOSED_CANCELED,
            None,
            text,
            label=label[:150],
            condition=_asked(nonce),
            updates={"message": text, "hint": ""},
        )
        decisions.remember_keep(
            done,
            decision=decisions.Decision.DECLINED_BY_MANAGER,
            actor=label.removesuffix(f" ({MANAGER_LINK})"),
            reason="Declined through the e-mail link.",
        )
    return bool(done)
