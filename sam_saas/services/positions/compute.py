"""The licence position of every software model, all profiles and per profile, in a fixed
number of grouped queries whatever the number of seats (used/free counts in querysets, as
Ralph, the open-source Django asset manager by Allegro, does): one over the entitlements in
force, one over the seats, one over the savings figures an app registers (reclamation: its
candidates), one for the stale thresholds; or, for the dashboard, the seat and savings
figures the jobs stored (:mod:`sam_saas.services.figures`), computed by the same functions.
Money goes through :mod:`sam_saas.money`: one price per seat, amounts per currency, never
added across currencies.

Scopes. The *all profiles* position of a software model counts every entitlement in force for
it and every seat in every published profile: that is the contract's position. A profile's
position counts the entitlements assigned to that profile; when it has none but the model has
shared entitlements (no profile), it is "covered by a shared entitlement" and its shortfall is
judged in the all-profiles position. Draft profiles' seats count nowhere.

Seats. Assigned, pending and stale are the subscription queryset's definitions
(:meth:`~sam_saas.models.subscriptions.SubscriptionQuerySet.assigned`, ``pending_invitations``,
``stale``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Count, Q
from django.utils import timezone

from ... import extensions, money
from ...extensions import StaleThresholds
from ...models import Entitlement, IntegrationProfile, SoftwareSubscription
from ...models.subscriptions import ACTIVITY_BUCKETS, activity_q, assigned_q, pending_q, stale_q
from .rows import EntitlementRow, Position, Positions, SavingsTotals, SeatCounts, year_start
from .scope import EVERYTHING, Scope

Sub = SoftwareSubscription


def _entitlements(on: dt.date, scope: Scope = EVERYTHING) -> list[EntitlementRow]:
    names = [f.name for f in EntitlementRow.__dataclass_fields__.values()]
    rows = (
        scope.entitlements(Entitlement.objects.in_force(on))
        .order_by("software_model_id", "-start_date", "-pk")
        .values_list(*names)
    )
    return [EntitlementRow(*row) for row in rows]


def seat_counts(
    now: dt.datetime,
    thresholds: StaleThresholds | None,
    scope: Scope = EVERYTHING,
    profile_ids: list[int] | None = None,
) -> dict[tuple, SeatCounts]:
    """One grouped query over the seats held (members and pending invitations) of published
    profiles (``profile_ids``: of those only), by software model and profile. Also what the
    stored "seats" figures hold (:mod:`sam_saas.services.figures`)."""
    bucket_counts = {
        f"bucket_{i}": Count("pk", filter=Q(status=Sub.Status.ACTIVE) & activity_q(b, now))
        for i, (b, _) in enumerate(ACTIVITY_BUCKETS)
    }
    seats = scope.seats(Sub.objects.counted().holding_seats())
    if profile_ids is not None:
        seats = seats.filter(profile_id__in=profile_ids)
    rows = (
        seats.order_by()
        .values("software_model_id", "profile_id")
        .annotate(
            assigned=Count("pk", filter=assigned_q()),
            pending=Count("pk", filter=pending_q()),
            excluded=Count("pk", filter=Q(excluded_from_cost=True)),
            stale=Count("pk", filter=assigned_q() & stale_q(now, thresholds)),
            without_user=Count("pk", filter=Q(person__isnull=True)),
            **bucket_counts,
        )
    )
    counts = {}
    for row in rows:
        counts[(row["software_model_id"], row["profile_id"])] = SeatCounts(
            assigned=row["assigned"],
            pending=row["pending"],
            excluded=row["excluded"],
            stale=row["stale"],
            without_user=row["without_user"],
            buckets={b: row[f"bucket_{i}"] for i, (b, _) in enumerate(ACTIVITY_BUCKETS)},
        )
    return counts


def savings(
    since: dt.datetime,
    scope: Scope = EVERYTHING,
    profile_ids: list[int] | None = None,
    *,
    removed: bool = True,
) -> dict[tuple, SavingsTotals]:
    """The registered savings figures of published profiles (``profile_ids``: of those only)
    and, unless not ``removed``, of removed ones (profile None), by software model and
    profile. Also what the stored "savings" figures hold."""
    source = extensions.registry.savings_source
    if source is None:
        return {}
    published = scope.profiles(
        IntegrationProfile.objects.filter(status=IntegrationProfile.Status.PUBLISHED)
    )
    if profile_ids is not None:
        published = published.filter(pk__in=profile_ids)
    found = source(since, published)
    if not removed:
        found = {key: totals for key, totals in found.items() if key[1] is not None}
    if scope.is_everything:
        return found
    return {key: totals for key, totals in found.items() if scope.keeps(*key)}


def compute(
    on: dt.date | None = None,
    now: dt.datetime | None = None,
    scope: Scope = EVERYTHING,
    *,
    stored=None,
) -> Positions:
    """The licence position of every software model (all profiles) and of every software
    model in every published profile that has seats, entitlements or candidates for it;
    ``scope`` narrows it to one profile and/or some software models (the dashboard's
    filters), with the same definitions.

    ``stored``: the seat counts and savings come from the figures the jobs keep instead of
    two statements over every seat and candidate: ``stored(scope, now)`` returns (seat
    counts, savings, computed at per group), as
    :func:`sam_saas.services.figures.position_figures` does. Entitlements are always read
    live (a few rows)."""
    now = now or timezone.now()
    on = on or timezone.localdate(now)
    since = year_start(now)
    thresholds = extensions.stale_thresholds()
    entitlements = _entitlements(on, scope)
    computed_at: dict[str, dt.datetime | None] = {}
    if stored is not None:
        seats, candidates, computed_at = stored(scope, now)
    else:
        seats = seat_counts(now, thresholds, scope)
        candidates = savings(since, scope)

    by_model: dict[int, list[EntitlementRow]] = defaultdict(list)
    for entitlement in entitlements:
        by_model[entitlement.software_model_id].append(entitlement)
    profiles_of: dict[int, set[int]] = defaultdict(set)
    for model_id, profile_id in [*seats, *candidates]:
        if model_id is not None and profile_id is not None:
            profiles_of[model_id].add(profile_id)
    for entitlement in entitlements:
        if entitlement.profile_id is not None:
            profiles_of[entitlement.software_model_id].add(entitlement.profile_id)

    seats_by_profile: dict[int, SeatCounts] = defaultdict(SeatCounts)
    for (_, profile_id), counts in seats.items():
        seats_by_profile[profile_id].add(counts)
    candidates_total = SavingsTotals()
    candidates_by_profile: dict[int | None, SavingsTotals] = defaultdict(SavingsTotals)
    for (_, profile_id), totals in candidates.items():
        candidates_total.add(totals)
        candidates_by_profile[profile_id].add(totals)

    positions: list[Position] = []
    model_ids = {m for m, _ in [*seats, *candidates] if m is not None} | set(by_model)
    for model_id in sorted(model_ids):
        model_entitlements = by_model.get(model_id, [])
        shared = any(e.profile_id is None for e in model_entitlements)
        overall = Position(
            model_id,
            None,
            list(model_entitlements),
            unit=money.choose_price(model_entitlements, model_id, None),
        )
        positions.append(overall)
        for profile_id in sorted(profiles_of[model_id]):
            position = Position(
                model_id,
                profile_id,
                [e for e in model_entitlements if e.profile_id == profile_id],
                shared_entitlements=shared,
                seats=seats.get((model_id, profile_id), SeatCounts()),
                candidates=candidates.get((model_id, profile_id), SavingsTotals()),
                unit=money.choose_price(model_entitlements, model_id, profile_id),
            )
            positions.append(position)
            overall.seats.add(position.seats)
            overall.candidates.add(position.candidates)
        if (model_id, None) in candidates:  # candidates whose profile was removed
            overall.candidates.add(candidates[(model_id, None)])
    return Positions(
        on=on,
        now=now,
        year_start=since,
        thresholds=thresholds,
        entitlements=entitlements,
        positions=positions,
        seats_by_profile=dict(seats_by_profile),
        candidates_total=candidates_total,
        candidates_by_profile=dict(candidates_by_profile),
        computed_at=computed_at,
    )
