"""A person's decision to keep a seat, remembered on the seat so that no automatic run undoes it.

A SAM manager rejecting a candidate, the seat holder answering "I still need it" and the
manager declining the removal all end in :func:`remember_keep`. It stores the decision on the
candidate's subscription (``SoftwareSubscription.keep_*``): which decision, who, when, the
reason, until when (the rule's "propose again after" period counted from the decision) and the
terms (the justification and the rule threshold it rests on). Candidate identification then
leaves the seat alone while all of these hold (``flagging.kept_back``): the seat is
proposed again only once the period has passed, the threshold behind that justification
changed, or the seat qualifies for another reason (a kept low-usage seat whose holder leaves
the company is raised as a leaver). :func:`propose_again_now` lifts the decision by hand and
proposes the seat at once.

Set-based: one UPDATE per (rule, justification) group, whatever the number of candidates, so a
bulk rejection of thousands of candidates costs a handful of statements.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import models, transaction
from django.db.models import F, Value
from django.utils import timezone

from sam_saas.models import KeepDecision, SoftwareSubscription
from sam_saas.services import keeps

from ..models import CandidateEvent, ReclamationCandidate, ReclamationRule, decision_terms
from .transitions import actor_label

# The decisions, defined once in the core (the subscription stores them):
# REJECTED, KEPT_BY_USER, DECLINED_BY_MANAGER.
Decision = KeepDecision

DEFAULT_PROPOSE_AGAIN_AFTER_DAYS = 90

# Subscription ids per UPDATE: below every database's bound-parameter limit.
CHUNK = 5000


def _candidate_ids(candidates) -> list[int]:
    if isinstance(candidates, models.QuerySet):
        return list(candidates.values_list("pk", flat=True))
    if isinstance(candidates, ReclamationCandidate):
        return [candidates.pk]
    if isinstance(candidates, int):
        return [candidates]
    items: Iterable = candidates
    return [getattr(item, "pk", item) for item in items]


def remember_keep(
    candidates,
    *,
    decision: str,
    actor=None,
    reason: str = "",
    at: dt.datetime | None = None,
) -> int:
    """Store ``decision`` (a :class:`Decision`) on the subscriptions of ``candidates`` (one
    candidate, ids, or a queryset). ``actor`` is the user who decided, or a string naming
    them; None means the seat holder answered through the e-mail link, and the seat's e-mail
    is recorded as who. Returns the number of subscriptions updated. A later decision replaces
    an earlier one; candidates whose subscription is gone are skipped.

    The terms come from the candidate's rule as it is now (the manager decided under the
    rule's current threshold); a candidate whose rule was removed uses its rule snapshot."""
    decision = Decision(decision)
    at = at or timezone.now()
    ids = _candidate_ids(candidates)
    if not ids:
        return 0
    rows = (
        ReclamationCandidate.objects.filter(pk__in=ids, subscription__isnull=False)
        .values_list("subscription_id", "rule_id", "justification", "rule_snapshot")
        .order_by()
    )
    rows = list(rows)
    rules = {r.pk: r for r in ReclamationRule.objects.filter(pk__in={r[1] for r in rows if r[1]})}
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for subscription_id, rule_id, justification, snapshot in rows:
        rule = rules.get(rule_id)
        if rule is not None:
            days = rule.propose_again_after_days
            terms = rule.decision_terms(justification)
        else:
            snapshot = snapshot or {}
            days = int(snapshot.get("propose_again_after_days") or DEFAULT_PROPOSE_AGAIN_AFTER_DAYS)
            terms = decision_terms(justification, snapshot)
        groups[(days, terms)].append(subscription_id)

    who = (
        Value(actor_label(actor)[:254], output_field=models.CharField())
        if actor is not None
        else F("user_principal_name")
    )
    updated = 0
    with transaction.atomic():
        for (days, terms), subscription_ids in groups.items():
            for start in range(0, len(subscription_ids), CHUNK):
                updated += SoftwareSubscription.objects.filter(
                    pk__in=subscription_ids[start : start + CHUNK]
                ).update(
                    keep_decision=decision,
                    keep_decided_by=who,
                    keep_decided_at=at,
                    keep_until=at + dt.timedelta(days=days),
                    keep_reason=(reason or "").strip()[:500],
                    keep_terms=terms,
                )
    return updated


@dataclass
class ProposeAgainResult:
    lifted: list[int] = field(default_factory=list)
    raised: int = 0
    messages: list[str] = field(default_factory=list)


def propose_again_now(subscriptions, actor=None) -> ProposeAgainResult:
    """Lift the keep decision of these subscriptions (a queryset, instances or ids) and raise
    their candidates at once where the rule flags them now. The lift is noted on the trail of
    each seat's latest candidate (who and when). Seats without a decision are left alone."""
    with transaction.atomic():
        lifted, _ = keeps.lift(subscriptions, actor, notify=False)
        result = ProposeAgainResult(lifted=lifted)
        if lifted:
            result.raised = _after_lift(lifted, actor)
    return result


def _after_lift(subscription_ids: list[int], actor) -> int:
    """Note the lift on each seat's most recent candidate before this one, then raise."""
    from .identification import raise_for

    latest: dict[int, tuple[int, str]] = {}
    for pk, subscription_id, state in (
        ReclamationCandidate.objects.filter(subscription_id__in=subscription_ids)
        .order_by("subscription_id", "-created_at", "-pk")
        .values_list("pk", "subscription_id", "state")
    ):
        latest.setdefault(subscription_id, (pk, state))
    label = actor_label(actor)[:150]
    note = f"Propose again now by {label}: the decision to keep the seat was lifted."
    CandidateEvent.objects.bulk_create(
        CandidateEvent(
            candidate_id=pk,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=label,
            from_state=state,
            to_state=state,
            note=note,
        )
        for pk, state in latest.values()
    )
    return raise_for(subscription_ids)


def on_keep_lifted(sender, subscription_ids, actor=None, **kwargs) -> str:
    """The subscription page's "Propose again now" (the core lifted the decision): propose the
    seats at once, and say how many were raised for the admin message."""
    raised = _after_lift(list(subscription_ids), actor)
    return f"{raised} raised as reclamation candidate(s) again."
