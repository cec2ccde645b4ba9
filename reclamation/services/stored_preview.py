"""The saved rule's preview as the jobs last computed it, so its page does not aggregate
every seat of the profile on each view (1.7 s at a million seats).

The figures are :func:`.preview.preview` itself, run by the jobs that change them and
stored per profile as a figure group of :mod:`sam_saas.services.figures` (download,
activity, apply rules, people import, reconcile, identification and reclaiming refresh
it; saving the rule or re-judging seats refreshes it once committed; a candidate moved
outside a job or an entitlement changed drops it, so the next view computes it afresh).
The page says when they were computed. They are used only while the rule's settings are
those they were computed for; otherwise, and for "Preview" of an unsaved change, the page
runs the live preview: both are the same function, so they never disagree.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from sam_saas import extensions
from sam_saas.extensions import FigureGroup
from sam_saas.models import JobRun, StoredFigures
from sam_saas.money import Totals
from sam_saas.services import figures
from sam_saas.services.positions.scope import Scope

from ..kinds import JobKind
from ..models import ReclamationRule
from .preview import Preview, PreviewRow, preview, preview_message

RULE_PREVIEW = "rule_preview"
# The rule's settings the preview depends on (``flagging.eligible_seats`` and
# ``justification_expression``): stored figures of other settings are not this rule's.
SETTINGS = (
    "inactivity_days",
    "grace_days",
    "include_never_active",
    "invitation_days",
    "reclaim_leavers",
)
# Every job kind that changes seats, their activity or their candidates.
REFRESHED_AFTER = (
    JobRun.Kind.DOWNLOAD,
    JobRun.Kind.ACTIVITY,
    JobRun.Kind.APPLY_RULES,
    JobRun.Kind.RECONCILE,
    JobRun.Kind.PEOPLE_IMPORT,
    JobKind.CANDIDATES,
    JobKind.PROFILE_CANDIDATES,
    JobKind.RECLAIM,
)


def settings_of(rule: ReclamationRule) -> dict:
    return {name: getattr(rule, name) for name in SETTINGS}


def as_json(result: Preview, rule: ReclamationRule) -> dict:
    return {
        "rule": settings_of(rule),
        "activity_known": result.activity_known,
        "rows": [
            {
                "days": row.days,
                "is_rule_threshold": row.is_rule_threshold,
                "candidates": row.candidates,
                "seats": row.seats,
                "stale": row.stale,
                # Decimals as strings: JSON numbers would round them through float.
                "by_currency": {c: str(a) for c, a in row.totals.by_currency.items()},
                "unknown": row.totals.unknown,
            }
            for row in result.rows
        ],
    }


def _rows(data: dict) -> list[PreviewRow]:
    return [
        PreviewRow(
            days=row["days"],
            is_rule_threshold=row["is_rule_threshold"],
            candidates=row["candidates"],
            seats=row["seats"],
            stale=row["stale"],
            totals=Totals({c: Decimal(a) for c, a in row["by_currency"].items()}, row["unknown"]),
        )
        for row in data["rows"]
    ]


def compute(profile_ids: list[int], now: dt.datetime, removed: bool) -> dict:
    """The figure group's computation: each profile's saved rule, previewed live."""
    rules = ReclamationRule.objects.filter(profile_id__in=profile_ids).select_related("profile")
    found = {}
    for rule in rules:
        if rule.days_problem():
            continue  # no preview to store: the page says why, live
        found[(None, rule.profile_id)] = as_json(preview(rule, now), rule)
    return found


def saved_rule_preview(rule: ReclamationRule, now: dt.datetime | None = None) -> Preview:
    """The saved ``rule``'s preview from the stored figures (with when they were computed),
    its profile's stale-seat comparison from the dashboard's; live when none fit."""
    now = now or timezone.now()
    if rule.profile_id is None or rule.days_problem():
        return preview(rule, now)
    scope = Scope(profile_id=rule.profile_id)
    found = figures.read([RULE_PREVIEW, figures.STALE_REASONS], scope, now)
    data = found[RULE_PREVIEW].rows.get((None, rule.profile_id))
    if data is None or data["rule"] != settings_of(rule):
        return preview(rule, now)
    comparison, compared_at = figures.read_stale_comparison(scope, now, found=found)
    computed_at = found[RULE_PREVIEW].computed_at
    return Preview(
        rows=_rows(data),
        activity_known=data["activity_known"],
        message=preview_message(data["activity_known"]),
        rule=rule,
        now=computed_at,
        computed_at=computed_at,
        stored_comparison=comparison,
        compared_at=compared_at,
    )


def outdate_all() -> None:
    """An entitlement changed the seats' costs: drop every stored rule preview once
    committed (the next view of a rule page computes its own afresh)."""
    transaction.on_commit(lambda: StoredFigures.objects.filter(group=RULE_PREVIEW).delete())


def _entitlement_changed(sender, instance, **kwargs) -> None:
    outdate_all()


def register() -> None:
    from django.db.models.signals import post_delete, post_save

    from sam_saas.models import Entitlement

    extensions.register_figure_group(FigureGroup(RULE_PREVIEW, "Rule preview", compute, order=40))
    for kind in REFRESHED_AFTER:
        extensions.refresh_figures_after(kind, RULE_PREVIEW)
    for signal in (post_save, post_delete):
        signal.connect(
            _entitlement_changed,
            sender=Entitlement,
            dispatch_uid=f"reclamation.stored_preview.{signal}",
        )
