"""Stored figures: the dashboard's seat counts, savings and stale-seat reasons, kept by the
jobs that change them instead of counted over every seat on each view.

Each figure group (:class:`sam_saas.extensions.FigureGroup`) is computed by the same
functions as the live figure (:func:`sam_saas.services.positions.seat_counts`, ``savings``,
the registered stale differences), all built on the subscription queryset's definitions
(``counted()``, ``holding_seats()``, ``stale()``, ...), and stored per profile
(:class:`~sam_saas.models.StoredFigures`) with the moment it describes. Who refreshes:

- a successful job of a kind registered with
  :func:`sam_saas.extensions.refresh_figures_after` (download, activity, apply rules,
  reconcile; reclamation adds identification and reclaiming), for its profile, or for every
  profile when the run has none (:func:`after_job`, on the ``job_finished`` signal);
- seats re-judged outside a job (a rule saved, a people import, "Return to automatic"), once
  the transaction commits (:func:`after_rejudge`, the ``seats_rejudged`` signal);
- a candidate moved outside a job (an approval, a user's answer, a reclaim task) drops its
  profile's savings and stale-seat reasons (:func:`outdate_after_commit`);
- reading: a published profile without figures yet (a fresh install, a profile just
  published, figures dropped) or with figures from before this year (freed this year starts again) is
  computed once and stored (:func:`read`), so the dashboard never shows a missing profile
  as zero.

A refresh computes outside the write transaction, then replaces the profile's row under a
lock on the profile rows, and never replaces figures computed later than its own (two
overlapping refreshes end with the newer figures).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .. import extensions
from ..extensions import FigureGroup
from ..models import IntegrationProfile, JobRun, SoftwareSubscription, StoredFigures
from . import jobs, positions

logger = logging.getLogger(__name__)

SEATS = "seats"
SAVINGS = "savings"
STALE_REASONS = "stale_reasons"
PUBLISHED = IntegrationProfile.Status.PUBLISHED


@dataclass
class Found:
    """One group's stored figures in a scope: ``rows`` by (software model, profile), and
    when the oldest of them was computed (None: nothing stored, nothing to store)."""

    rows: dict[tuple, dict] = field(default_factory=dict)
    computed_at: dt.datetime | None = None


# -- the core's groups -------------------------------------------------------------------------


def _seats(profile_ids: list[int], now: dt.datetime, removed: bool) -> dict:
    thresholds = extensions.stale_thresholds()
    counts = positions.seat_counts(now, thresholds, profile_ids=profile_ids)
    return {key: value.as_json() for key, value in counts.items()}


def _savings(profile_ids: list[int], now: dt.datetime, removed: bool) -> dict:
    found = positions.savings(positions.year_start(now), profile_ids=profile_ids, removed=removed)
    return {key: value.as_json() for key, value in found.items()}


def _stale_reasons(profile_ids: list[int], now: dt.datetime, removed: bool) -> dict:
    source = extensions.registry.stale_differences
    if source is None or not profile_ids:
        return {}
    seats = SoftwareSubscription.objects.counted().stale(now).filter(profile_id__in=profile_ids)
    return {(None, p): c.as_json() for p, c in source(seats, now, profile_ids).items()}


def register_core() -> None:
    """The core's groups and the core job kinds that change them (``SamSaasConfig.ready``)."""
    extensions.register_figure_group(FigureGroup(SEATS, "Seat counts", _seats, order=10))
    extensions.register_figure_group(FigureGroup(SAVINGS, "Savings", _savings, order=20))
    extensions.register_figure_group(
        FigureGroup(STALE_REASONS, "Stale seats against candidates", _stale_reasons, order=30)
    )
    everything = (SEATS, SAVINGS, STALE_REASONS)
    for kind in (
        JobRun.Kind.DOWNLOAD,
        JobRun.Kind.ACTIVITY,
        JobRun.Kind.APPLY_RULES,
        JobRun.Kind.RECONCILE,
        JobRun.Kind.PEOPLE_IMPORT,
    ):
        extensions.refresh_figures_after(kind, *everything)


def groups(keys: Iterable[str] | None = None) -> list[FigureGroup]:
    chosen = None if keys is None else set(keys)
    return [g for g in extensions.registry.figure_groups if chosen is None or g.key in chosen]


# -- refreshing --------------------------------------------------------------------------------


def refresh(
    keys: Iterable[str] | None = None,
    profile_ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
    *,
    removed: bool | None = None,
) -> None:
    """Compute and store these groups (None: all) for these profiles (None: every published
    profile, and the removed profiles' figures). Profiles no longer published lose theirs."""
    now = now or timezone.now()
    full = profile_ids is None
    removed = full if removed is None else removed
    published = set(
        IntegrationProfile.objects.filter(status=PUBLISHED).values_list("pk", flat=True)
    )
    asked = published if full else {p for p in profile_ids if p is not None}
    targets = sorted(asked & published)
    gone = sorted(asked - published)
    for group in groups(keys):
        values = group.compute(targets, now, removed)
        by_profile: dict[int | None, list] = defaultdict(list)
        for (model_id, profile_id), data in values.items():
            by_profile[profile_id].append([model_id, data])
        written = [*targets, *([None] if removed else [])]
        _write(group.key, written, by_profile, now, gone=gone, prune=full)


def _write(key, profile_ids, by_profile, now, *, gone, prune) -> None:
    with transaction.atomic():
        # Serialise refreshes of the same profiles (ordered: no deadlock between two).
        list(
            IntegrationProfile.objects.filter(pk__in=[p for p in profile_ids if p is not None])
            .order_by("pk")
            .select_for_update()
            .values_list("pk", flat=True)
        )
        mine = Q(profile_id__in=[p for p in profile_ids if p is not None] + gone)
        if None in profile_ids:
            mine |= Q(profile__isnull=True)
        existing = StoredFigures.objects.filter(group=key).filter(mine)
        newer = set(existing.filter(computed_at__gt=now).values_list("profile_id", flat=True))
        existing.filter(computed_at__lte=now).delete()
        if prune:  # a full refresh: profiles no longer published keep nothing
            StoredFigures.objects.filter(group=key, profile__isnull=False).exclude(
                profile_id__in=profile_ids
            ).delete()
        StoredFigures.objects.bulk_create(
            [
                StoredFigures(
                    group=key,
                    profile_id=profile_id,
                    computed_at=now,
                    rows=sorted(
                        by_profile.get(profile_id, []), key=lambda r: (r[0] is None, r[0] or 0)
                    ),
                )
                for profile_id in profile_ids
                if profile_id not in newer
            ]
        )


def in_job() -> bool:
    """Whether a job's handler is running here (its end refreshes the figures anyway)."""
    return jobs.handler_running()


def after_job(sender, run: JobRun, **kwargs) -> None:
    """``job_finished``: refresh what a successful run of this kind changed. A failure here
    is logged, never the job's: the figures keep their older "computed at"."""
    keys = extensions.registry.figure_refreshes.get(str(run.kind))
    if not keys or run.status != JobRun.Status.SUCCEEDED:
        return
    try:
        refresh(keys, None if run.profile_id is None else [run.profile_id])
    except Exception:
        logger.exception("refreshing the stored figures after job %s failed", run.pk)


def outdate_after_commit(keys: Iterable[str], profile_ids: Iterable[int]) -> None:
    """Something outside a job changed these groups' figures for these profiles (a
    candidate approved, rejected or reclaimed): once committed, drop their stored figures,
    so the next view computes them afresh rather than showing the old ones. Dropping, not
    recomputing: a burst of changes (a reclaim task per seat) then costs one computation,
    on the next view. Inside a job, its own refresh at the end covers it."""
    ids = sorted({p for p in profile_ids if p is not None})
    if in_job() or not ids:
        return
    keys = list(keys)
    transaction.on_commit(
        lambda: StoredFigures.objects.filter(group__in=keys, profile_id__in=ids).delete()
    )


def after_rejudge(sender, profile_ids=None, **kwargs) -> None:
    """``seats_rejudged`` outside a job: refresh those profiles' figures once committed."""
    if in_job():
        return
    ids = None if profile_ids is None else list(profile_ids)
    transaction.on_commit(lambda: refresh(None, ids))


# -- reading -----------------------------------------------------------------------------------


def read(keys: list[str], scope: positions.Scope, now: dt.datetime) -> dict[str, Found]:
    """The stored figures of these groups for the published profiles in ``scope``, rows
    narrowed to its software models. Three queries; more only when a profile has no figures
    yet (then computed once and stored)."""
    published = list(
        scope.profiles(IntegrationProfile.objects.filter(status=PUBLISHED)).values_list(
            "pk", flat=True
        )
    )
    sets = _sets(keys, scope, published)
    fresh_from = positions.year_start(now)
    missing: dict[str, list[int | None]] = {}
    for key in keys:
        have = {p: s for (k, p), s in sets.items() if k == key and s[0] >= fresh_from}
        wanted = [*published, *([None] if scope.profile_id is None else [])]
        lacking = [p for p in wanted if p not in have]
        if lacking:
            missing[key] = lacking
    if missing:
        for key, lacking in missing.items():
            ids = [p for p in lacking if p is not None]
            refresh([key], ids, removed=None in lacking)
        sets = _sets(keys, scope, published)
    found = {key: Found() for key in keys}
    for (key, profile_id), (computed_at, rows) in sets.items():
        group = found[key]
        for model_id, data in rows:
            if scope.keeps(model_id, profile_id):
                group.rows[(model_id, profile_id)] = data
        # The removed profiles' figures change only when a profile is removed; a full
        # refresh (reconcile, the all-profiles identification) renews them. They do not
        # date the published profiles' figures.
        if profile_id is not None and (
            group.computed_at is None or computed_at < group.computed_at
        ):
            group.computed_at = computed_at
    return found


def _sets(keys, scope, published) -> dict[tuple, tuple]:
    where = Q(profile_id__in=published)
    if scope.profile_id is None:
        where |= Q(profile__isnull=True)
    return {
        (group, profile_id): (computed_at, rows)
        for group, profile_id, computed_at, rows in StoredFigures.objects.filter(
            where, group__in=keys
        ).values_list("group", "profile_id", "computed_at", "rows")
    }


def position_figures(scope: positions.Scope, now: dt.datetime, found=None):
    """The stored seat counts and savings for :func:`positions.compute` (``stored=``);
    ``found``: what :func:`read` returned already for the same scope."""
    found = found or read([SEATS, SAVINGS], scope, now)
    seats = {key: positions.SeatCounts.from_json(v) for key, v in found[SEATS].rows.items()}
    candidates = {
        key: positions.SavingsTotals.from_json(v) for key, v in found[SAVINGS].rows.items()
    }
    return seats, candidates, {key: found[key].computed_at for key in (SEATS, SAVINGS)}


def read_stale_comparison(scope: positions.Scope, now: dt.datetime, found=None):
    """The stored stale-seat comparison of the scope's profiles, added up; None when no app
    registers it. Returns (comparison, computed at). ``found``: as for position_figures."""
    if extensions.registry.stale_differences is None:
        return None, None
    found = (found or read([STALE_REASONS], scope, now))[STALE_REASONS]
    total = extensions.StaleComparison()
    for data in found.rows.values():
        total.add(extensions.StaleComparison.from_json(data))
    return total.without_zeros(), found.computed_at
