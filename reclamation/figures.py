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


def register_refreshes() -> None:
    """The stored dashboard figures (``sam_saas.services.figures``) the reclamation jobs
    change: identification and reclaiming change the savings and which stale seats are
    candidates, and reclaiming removes seats; a rule's threshold changes which seats are
    stale, so saving or deleting a rule refreshes its profile's figures once committed."""
    from django.db.models.signals import post_delete, post_save

    from sam_saas import extensions

    from .kinds import JobKind

    for kind in (JobKind.CANDIDATES, JobKind.PROFILE_CANDIDATES):
        extensions.refresh_figures_after(kind, "savings", "stale_reasons")
    extensions.refresh_figures_after(JobKind.RECLAIM, "seats", "savings", "stale_reasons")
    for signal in (post_save, post_delete):
        signal.connect(
            _rule_changed, sender=ReclamationRule, dispatch_uid=f"reclamation.figures.{signal}"
        )


def _rule_changed(sender, instance, **kwargs) -> None:
    from django.db import transaction

    from sam_saas.services import figures

    if instance.profile_id is not None and not figures.in_job():
        profile_id = instance.profile_id
        transaction.on_commit(lambda: figures.refresh(None, [profile_id]))


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
    """How the stale seats (``SubscriptionQuerySet.stale()``; ``profile``: of that profile)
    and the open low-usage and never-used candidates compare: the stale seats that are not
    such candidates, each by the first reason that applies, and those candidates whose seat
    is not a stale seat (the rule page's comparison)."""
    profile_ids = None
    if profile is not None:
        stale_seats = stale_seats.filter(profile=profile)
        profile_ids = [profile.pk]
    total = StaleComparison()
    for comparison in stale_differences_by_profile(stale_seats, now, profile_ids).values():
        total.add(comparison)
    return total.without_zeros()


def stale_differences_by_profile(
    stale_seats, now: dt.datetime, profile_ids: list[int] | None = None
) -> dict[int, StaleComparison]:
    """:func:`stale_differences` per profile of the ``stale_seats`` (the dashboard's stored
    figures; registered with ``sam_saas.extensions``): every reason listed, zeros included,
    so profiles add up in one order; ``profile_ids``: the candidates of those profiles only
    (the seats are the caller's). Four small queries whatever the number of profiles."""
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
    whens = [When(open_candidate__justification__in=STALE_KINDS, then=Value(0))]
    whens += [
        When(condition, then=Value(i + 1))
        for i, (condition, _) in enumerate(_reasons(rules, activity_known, grace, now))
    ]
    counts: dict[int, dict[int, int]] = defaultdict(dict)
    for profile_id, why, n in (
        judged.annotate(why=Case(*whens, default=Value(-1), output_field=IntegerField()))
        .order_by()
        .values_list("profile_id", "why")
        .annotate(n=Count("pk"))
        .values_list("profile_id", "why", "n")
    ):
        counts[profile_id][why] = n
    matching = ReclamationCandidate.objects.filter(
        state__in=OPEN_STATES,
        justification__in=STALE_KINDS,
        profile__status=IntegrationProfile.Status.PUBLISHED,
    )
    if profile_ids is not None:
        matching = matching.filter(profile_id__in=profile_ids)
    # Driven from the few matching candidates, each probing its own seat (NOT EXISTS), rather
    # than hashing every stale seat; a candidate without a seat stays "not stale" as before.
    not_stale = {
        row["profile_id"]: row
        for row in matching.filter(~Exists(stale_seats.filter(pk=OuterRef("subscription_id"))))
        .order_by()
        .values("profile_id")
        .annotate(
            excluded=Count("pk", filter=Q(subscription__excluded_from_cost=True)),
            other=Count("pk", filter=~Q(subscription__excluded_from_cost=True)),
        )
    }
    return {
        profile_id: _comparison(
            counts.get(profile_id, {}), not_stale.get(profile_id, {"excluded": 0, "other": 0})
        )
        for profile_id in {*counts, *not_stale}
    }


REASONS = (
    "raised for another reason (leaver or stale invitation)",
    "excluded from reclamation",
    "held by the organization owner, which cannot be removed",
    "in a profile whose reclamation rule is inactive or not created yet",
    "in a profile with no successful activity pull yet",
    "never active, and the rule leaves never-active seats out",
    "within the rule's grace period for new seats",
    "kept by a recorded decision (rejected, or kept by the user or manager) until "
    "their propose-again date",
)
NOT_PROPOSED = "not proposed yet: the next identification raises them"


def _reasons(rules, activity_known, grace, now) -> list[tuple[Q, str]]:
    """Why a stale seat is not an open low-usage or never-used candidate, first match wins."""
    conditions = [
        # Any other open candidate: the matching kinds were taken by the first When.
        Q(open_candidate__pk__isnull=False),
        Q(excluded_from_reclamation=True),
        Q(role__iexact="owner"),
        ~Q(profile_id__in=[r.profile_id for r in rules if r.active]),
        ~Q(profile__in=activity_known),
        Q(last_activity_at__isnull=True)
        & Q(profile_id__in=[r.profile_id for r in rules if not r.include_never_active]),
        grace,
        Q(keep_until__gt=now),
    ]
    return list(zip(conditions, REASONS, strict=True))


def _comparison(counts: dict[int, int], not_stale: dict) -> StaleComparison:
    seats = [(counts.get(i + 1, 0), why) for i, why in enumerate(REASONS)]
    seats.append((counts.get(-1, 0), NOT_PROPOSED))
    return StaleComparison(
        stale=sum(counts.values()),
        matching=counts.get(0, 0),
        seats_not_candidates=seats,
        candidates_not_stale=[
            (not_stale["excluded"], "on seats excluded from cost"),
            (
                not_stale["other"],
                "on seats no longer stale (the next identification closes them)",
            ),
        ],
    )
