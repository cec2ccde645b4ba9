"""A candidate by hand: "Propose for reclamation" on a subscription, with a justification.

The manual candidate then follows the same workflow as a raised one: it carries the profile's
rule snapshot (Awaiting Approval when the rule requires approval, Ready otherwise; the rule's
notify and days settings apply), its saving is priced like identification's, and its first
event says who proposed it and why. Seats that cannot be proposed are reported with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from sam_saas.models import SoftwareSubscription

from ..models import OPEN_STATES, CandidateEvent, ReclamationCandidate
from .rules import ensure_rule
from .seat_costs import entitlement_costs
from .transitions import actor_label

State = ReclamationCandidate.State
Sub = SoftwareSubscription


@dataclass
class ProposalResult:
    created: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # subscription id → why


def why_not(subscription: Sub, open_ids: set[int]) -> str:
    """Why this seat cannot be proposed ("" when it can)."""
    if not subscription.holds_seat:
        return f"it holds no seat (it is {subscription.get_status_display()})."
    if subscription.pk in open_ids:
        return "it already has an open candidate."
    if (subscription.role or "").lower() == "owner":
        return "the vendor organization's owner cannot be removed."
    if subscription.excluded_from_reclamation:
        return "it is excluded from reclamation (an exclusion rule or the vendor protects it)."
    if subscription.profile_id is None:
        return "it belongs to no integration profile."
    return ""


def open_candidate_ids(subscription_ids) -> set[int]:
    return set(
        ReclamationCandidate.objects.filter(
            subscription_id__in=list(subscription_ids), state__in=OPEN_STATES
        ).values_list("subscription_id", flat=True)
    )


def propose(subscriptions, actor, justification: str) -> ProposalResult:
    """Raise a manual candidate for each seat of ``subscriptions`` (a queryset or instances)
    that can be proposed. ``justification`` is required: it is the record of why."""
    justification = (justification or "").strip()
    if not justification:
        raise ValueError("A justification is required to propose a seat for reclamation.")
    subs = list(
        subscriptions.select_related("profile", "person")
        if hasattr(subscriptions, "select_related")
        else subscriptions
    )
    open_ids = open_candidate_ids(s.pk for s in subs)
    result = ProposalResult()
    now = timezone.now()
    costs: dict[int, dict] = {}
    for sub in subs:
        reason = why_not(sub, open_ids)
        if reason:
            result.skipped[sub.pk] = reason
            continue
        rule = ensure_rule(sub.profile)
        if sub.profile_id not in costs:
            costs[sub.profile_id] = entitlement_costs(sub.profile_id, timezone.localdate(now))
        cost = costs[sub.profile_id].get(sub.software_model_id)
        # As identification prices it: a seat excluded from cost saves a known nothing.
        excluded = sub.excluded_from_cost
        person = sub.person
        state = State.AWAITING_APPROVAL if rule.require_approval else State.READY
        try:
            with transaction.atomic():
                candidate = ReclamationCandidate.objects.create(
                    subscription=sub,
                    profile=sub.profile,
                    rule=rule,
                    person=person,
                    user_principal_name=sub.user_principal_name,
                    user_name=(person.name if person and person.name else sub.user_name) or "",
                    department=person.department if person else "",
                    cost_center=person.cost_center if person else "",
                    profile_name=sub.profile.name,
                    provider=sub.profile.provider,
                    rule_name=rule.name,
                    rule_snapshot=rule.snapshot(),
                    seat_kind=sub.kind,
                    justification=ReclamationCandidate.Justification.MANUAL,
                    proposed_reason=justification,
                    last_activity_at=sub.last_activity_at,
                    last_activity_source=sub.last_activity_source,
                    last_activity_evidence=sub.last_activity_evidence,
                    potential_savings=cost.annual if cost and not excluded else 0,
                    currency=cost.currency if cost else "",
                    savings_known=excluded or cost is not None,
                    state=state,
                    created_at=now,
                    state_changed_at=now,
                    message=f"Proposed by hand: {justification}",
                )
                CandidateEvent.objects.create(
                    candidate=candidate,
                    at=now,
                    actor=actor if getattr(actor, "pk", None) else None,
                    actor_label=actor_label(actor)[:150],
                    from_state="",
                    to_state=state,
                    note=f"Proposed for reclamation by hand: {justification}",
                )
        except IntegrityError:
            # Identification (or another manager) raised one at the same moment.
            result.skipped[sub.pk] = "it already has an open candidate."
            continue
        result.created.append(candidate.pk)
    return result


def describe(subscription: Sub, open_ids: set[int]) -> str:
    """What proposing will do to this seat, for the confirmation page."""
    reason = why_not(subscription, open_ids)
    if reason:
        return f"Skipped: {reason}"
    rule = getattr(subscription.profile, "reclamation_rule", None)
    if rule is None or rule.require_approval:
        return "→ a manual candidate in Awaiting Approval: a SAM approver approves or rejects it."
    return "→ a manual candidate in Ready: the rule requires no approval, so it starts with the daily run."
