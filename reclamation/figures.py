"""The figures reclamation gives the core through :mod:`sam_saas.extensions`: when a seat is
stale (each profile's rule threshold), what open and freed candidates are worth per software
model and profile (the licence position's savings columns), and why stale seats and open
candidates may legitimately differ (shown on the dashboard and the rule page)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import (
    Case,
    Count,
    Exists,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.lookups import GreaterThanOrEqual

from sam_saas.extensions import StaleComparison, StaleThresholds
from sam_saas.models import IntegrationProfile, JobRun, SoftwareSubscription
from sam_saas.models.subscriptions import seat_since
from sam_saas.services.positions import SavingsTotals

from .models import OPEN_STATES, ReclamationCandidate, ReclamationRule
from .services.savings import add_candidate_group, in_cost

State = ReclamationCandidate.State
Justification = ReclamationCandidate.Justification
# The justifications that are the seat vocabulary's "stale": inactive past the threshold.
STALE_KINDS = (Justification.LOW_USAGE, Justification.NEVER_USED)


def stale_thresholds() -> StaleThresholds:
    """A seat is stale past its profile's rule threshold; the rule's default elsewhere."""
    default = ReclamationRule._meta.get_field("inactivity_days").default
    per_profile = dict(
        ReclamationRule.objects.filter(profile__isnull=False).values_list(
            "profile_id", "inactivity_days"
        )
    )
    return StaleThresholds(default, per_profile)


def savings_by_position(since: dt.datetime, published) -> dict[tuple, SavingsTotals]:
    """One grouped query over open candidates and candidates closed complete since
    ``since`` of the ``published`` profiles (or of removed ones), by software model, profile,
    currency and whether the cost is known."""
    is_open = Q(state__in=OPEN_STATES)
    is_freed = Q(state=State.CLOSED_COMPLETE)
    # The seat is joined already (its software model): test it there rather than against a
    # subquery listing every held seat (``holding_seats()`` is the status test below).
    in_use = Q(
        subscription__status__in=SoftwareSubscription.HOLDING,
        subscription__excluded_from_cost=False,
    )
    rows = (
        ReclamationCandidate.objects.filter(is_open | Q(is_freed, closed_at__gte=since))
        .filter(Q(profile__isnull=True) | Q(profile__in=published))
        .order_by()
        .values("subscription__software_model_id", "profile_id", "currency", "savings_known")
        .annotate(
            open=Count("pk", filter=is_open),
            open_in_use=Count("pk", filter=is_open & in_use),
            open_excluded=Count("pk", filter=is_open & ~in_cost()),
            potential=Sum("potential_savings", filter=is_open & in_cost()),
            freed=Count("pk", filter=is_freed),
            freed_excluded=Count("pk", filter=is_freed & ~in_cost()),
            freed_value=Sum("potential_savings", filter=is_freed & in_cost()),
        )
    )
    totals: dict[tuple, SavingsTotals] = defaultdict(SavingsTotals)
    for row in rows:
        key = (row["subscription__software_model_id"], row["profile_id"])
        part = SavingsTotals(open=row["open"], open_in_use=row["open_in_use"], freed=row["freed"])
        known, currency = row["savings_known"], row["currency"]
        if row["open"]:
            add_candidate_group(
                part.potential,
                {
                    "n": row["open"],
                    "excluded": row["open_excluded"],
                    "total": row["potential"],
                    "currency": currency,
                    "savings_known": known,
                },
            )
        if row["freed"]:
            add_candidate_group(
                part.freed_value,
                {
                    "n": row["freed"],
                    "excluded": row["freed_excluded"],
                    "total": row["freed_value"],
                    "currency": currency,
                    "savings_known": known,
                },
            )
        totals[key].add(part)
    return dict(totals)


# -- why stale seats and candidates differ ------------------------------------------------------


def stale_differences(stale_seats, now: dt.datetime, profile=None) -> StaleComparison:
    """How the stale seats (``SubscriptionQuerySet.stale()``) and the open low-usage and
    never-used candidates compare: the stale seats that are not such candidates, each by the
    first reason that applies, and those candidates whose seat is not a stale seat. Four
    small queries."""
    rules = list(
        ReclamationRule.objects.filter(profile__isnull=False).only(
            "profile_id", "active", "grace_days", "include_never_active"
        )
    )
    pulled = JobRun.objects.filter(
        kind=JobRun.Kind.ACTIVITY, status=JobRun.Status.SUCCEEDED
    ).values("profile_id")
    activity_known = IntegrationProfile.objects.filter(activity_enabled=True, pk__in=pulled)
    grace = Q(pk__in=[])
    for rule in rules:
        grace |= Q(profile_id=rule.profile_id) & Q(
            GreaterThanOrEqual(seat_since(), now - dt.timedelta(days=rule.grace_days))
        )
    # A seat has at most one open candidate (the one-open-per-subscription constraint), so a
    # LEFT JOIN of the open candidates counts each seat once; the planner hashes the few
    # thousand open candidates instead of probing the candidate index twice per stale seat.
    judged = stale_seats.annotate(
        open_candidate=FilteredRelation(
            "reclamation_candidates",
            condition=Q(reclamation_candidates__state__in=OPEN_STATES),
        )
    )
    reasons = [
        (
            # Any other open candidate: the matching kinds were taken by the first When.
            Q(open_candidate__pk__isnull=False),
            "raised for another reason (leaver or stale invitation)",
        ),
        (Q(excluded_from_reclamation=True), "excluded from reclamation"),
        (Q(role__iexact="owner"), "held by the organization owner, which cannot be removed"),
        (
            ~Q(profile_id__in=[r.profile_id for r in rules if r.active]),
            "in a profile whose reclamation rule is inactive or not created yet",
        ),
        (~Q(profile__in=activity_known), "in a profile with no successful activity pull yet"),
        (
            Q(last_activity_at__isnull=True)
            & Q(profile_id__in=[r.profile_id for r in rules if not r.include_never_active]),
            "never active, and the rule leaves never-active seats out",
        ),
        (grace, "within the rule's grace period for new seats"),
        (
            Q(keep_until__gt=now),
            "kept by a recorded decision (rejected, or kept by the user or manager) until "
            "their propose-again date",
        ),
    ]
    whens = [When(open_candidate__justification__in=STALE_KINDS, then=Value(0))]
    whens += [When(condition, then=Value(i + 1)) for i, (condition, _) in enumerate(reasons)]
    counts = dict(
        judged.annotate(why=Case(*whens, default=Value(-1), output_field=IntegerField()))
        .order_by()
        .values_list("why")
        .annotate(n=Count("pk"))
        .values_list("why", "n")
    )
    seats = [(counts.get(i + 1, 0), why) for i, (_, why) in enumerate(reasons)]
    seats.append(
        (
            counts.get(-1, 0),
            "not proposed yet: the next identification raises them",
        )
    )
    matching = ReclamationCandidate.objects.filter(
        state__in=OPEN_STATES,
        justification__in=STALE_KINDS,
        profile__status=IntegrationProfile.Status.PUBLISHED,
    )
    if profile is not None:
        matching = matching.filter(profile=profile)
    # Driven from the few matching candidates, each probing its own seat (NOT EXISTS), rather
    # than hashing every stale seat; a candidate without a seat stays "not stale" as before.
    not_stale = matching.filter(
        ~Exists(stale_seats.filter(pk=OuterRef("subscription_id")))
    ).aggregate(
        excluded=Count("pk", filter=Q(subscription__excluded_from_cost=True)),
        other=Count("pk", filter=~Q(subscription__excluded_from_cost=True)),
    )
    candidates = [
        (not_stale["excluded"], "on seats excluded from cost"),
        (not_stale["other"], "on seats no longer stale (the next identification closes them)"),
    ]
    return StaleComparison(
        stale=sum(counts.values()),
        matching=counts.get(0, 0),
        seats_not_candidates=[(n, why) for n, why in seats if n],
        candidates_not_stale=[(n, why) for n, why in candidates if n],
    )
