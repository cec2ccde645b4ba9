"""Identify reclamation candidates: set-based, one ``INSERT ... SELECT`` per rule.

The daily job (after the refresh), the admin's "Identify candidates now" and
``manage.py refresh --process candidates`` all run
:func:`reclamation.jobs.run_identification_job`. Why SQL and not a loop: ServiceNow needs
platform tuning above 50,000 subscriptions; here the database compares every seat with its
rule in one statement, and Python only loops over rules (one per profile).

Before raising new candidates, open ones whose premise broke are closed
(:mod:`.premises`). What a rule flags is :mod:`.flagging`, what a seat saves
:mod:`.seat_costs`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from django.db import DataError, models, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from sam_saas.models import IntegrationProfile, SoftwareSubscription
from sam_saas.money import Cost
from sam_saas.services.bulk_sql import with_job_work_mem, without_jit

from ..models import ReclamationCandidate, ReclamationRule
from .flagging import (
    activity_known,
    eligible_seats,
    has_open_candidate,
    justification_expression,
    kept_back,
)
from .premises import cancel_resumed, close_excluded, close_returned_leavers, close_vanished
from .rules import ensure_rules_for_published_profiles
from .seat_costs import cost_expressions, entitlement_costs
from .sql import insert_from_select

logger = logging.getLogger(__name__)

State = ReclamationCandidate.State
Justification = ReclamationCandidate.Justification
Sub = SoftwareSubscription

JUSTIFICATION_NOTES = {
    Justification.LEAVER: "the person is inactive in the directory (a leaver)",
    Justification.STALE_INVITATION: "the invitation has been pending for more than {invitation_days} days",
    Justification.NEVER_USED: "no activity was ever recorded for the seat",
    Justification.LOW_USAGE: "no activity for more than {inactivity_days} days",
}


def raise_candidates(
    rule: ReclamationRule,
    now: dt.datetime,
    token: uuid.UUID,
    *,
    with_activity: bool,
    costs: dict[int, Cost],
    only=None,
) -> int:
    """One ``INSERT ... SELECT`` creating the rule's new candidates, tagged with ``token`` (the
    run's id). Returns how many were created. ``only`` limits it to these subscription ids
    ("Propose again now")."""
    justification = justification_expression(rule, now, with_activity=with_activity)
    if justification is None:
        return 0
    profile = rule.profile
    seats = (
        eligible_seats(rule, now)
        .alias(reason=justification)
        .filter(reason__isnull=False)
        .exclude(kept_back(rule, now, with_activity=with_activity))
        .filter(~has_open_candidate())
    )
    if only is not None:
        seats = seats.filter(pk__in=only)
    annual, currency, known = cost_expressions(costs)
    state = State.AWAITING_APPROVAL if rule.require_approval else State.READY
    text = models.CharField()
    columns = {
        "subscription": F("pk"),
        "profile": Value(profile.pk, output_field=models.IntegerField()),
        "rule": Value(rule.pk, output_field=models.IntegerField()),
        "person": F("person_id"),
        "user_principal_name": F("user_principal_name"),
        "user_name": Coalesce(
            NullIf(F("person__name"), Value("")), F("user_name"), output_field=text
        ),
        "department": Coalesce(F("person__department"), Value(""), output_field=text),
        "cost_center": Coalesce(F("person__cost_center"), Value(""), output_field=text),
        "profile_name": Value(profile.name, output_field=text),
        "provider": Value(profile.provider, output_field=text),
        "rule_name": Value(rule.name, output_field=text),
        "rule_snapshot": Value(rule.snapshot(), output_field=models.JSONField()),
        "seat_kind": F("kind"),
        "justification": F("reason"),
        "last_activity_at": F("last_activity_at"),
        "last_activity_source": F("last_activity_source"),
        "last_activity_evidence": F("last_activity_evidence"),
        "potential_savings": annual,
        "currency": currency,
        "savings_known": known,
        "state": Value(state, output_field=text),
        "created_at": Value(now, output_field=models.DateTimeField()),
        "state_changed_at": Value(now, output_field=models.DateTimeField()),
        "last_transition": Value(token, output_field=models.UUIDField()),
    }
    # Staged: the "no open candidate" anti-join reads the table being inserted into. No ON
    # CONFLICT: that anti-join and the job's one-open-run constraint leave no room for a
    # duplicate, and speculative insertion doubled the statement's time. Should one slip in
    # anyway, the partial unique index fails the statement (nothing half-done) and the next
    # run raises the candidates.
    return insert_from_select(ReclamationCandidate, seats, columns, staged=True)


def explain(candidate: ReclamationCandidate) -> str:
    """Why a candidate was raised, in words, from its justification and rule snapshot. (No
    "raised" event row is written: at 100,000 new candidates it would double the rows and
    the foreign-key checks of the run, and the candidate itself holds all of it.)"""
    snapshot = {"inactivity_days": "?", "invitation_days": "?", **(candidate.rule_snapshot or {})}
    template = JUSTIFICATION_NOTES.get(candidate.justification, "")
    why = template.format(**snapshot) if template else candidate.get_justification_display()
    rule = candidate.rule_name or "a removed rule"
    return f"Raised by rule “{rule}”: {why}."


@dataclass
class IdentificationResult:
    raised: int = 0
    vanished: int = 0
    canceled: int = 0
    excluded: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def closed(self) -> int:
        return self.vanished + self.canceled + self.excluded


def identify(now: dt.datetime | None = None, *, profiles=None) -> IdentificationResult:
    """Close candidates whose premise broke, then raise new ones for every active rule of a
    published profile (of ``profiles`` when given). Rules missing for published profiles are
    created first."""
    now = now or timezone.now()
    result = IdentificationResult()
    ensure_rules_for_published_profiles(profiles)
    with transaction.atomic():
        without_jit()
        result.vanished = len(close_vanished(profiles=profiles))
        result.canceled = len(cancel_resumed(profiles=profiles))
        result.excluded = len(close_excluded(profiles=profiles))
        result.excluded += len(close_returned_leavers(profiles=profiles))

    rules = ReclamationRule.objects.filter(
        active=True, profile__status=IntegrationProfile.Status.PUBLISHED
    ).select_related("profile")
    if profiles is not None:
        rules = rules.filter(profile__in=profiles)
    rules = list(rules)
    token = uuid.uuid4()
    with transaction.atomic():
        without_jit()
        with_job_work_mem()
        for rule in rules:
            if problem := rule.days_problem():
                result.warnings.append(_skipped(rule, problem))
                continue
            with_activity = activity_known(rule.profile)
            if not with_activity:
                result.warnings.append(
                    f"{rule.profile.name}: no successful activity pull yet, so only leavers "
                    "and stale invitations were considered."
                )
            try:
                # A savepoint: one rule the database refuses does not undo the others.
                with transaction.atomic():
                    result.raised += raise_candidates(
                        rule,
                        now,
                        token,
                        with_activity=with_activity,
                        costs=entitlement_costs(rule.profile_id, timezone.localdate(now)),
                    )
            except (OverflowError, ValueError, DataError) as exc:
                logger.warning("rule %s skipped: %s", rule.pk, exc)
                result.warnings.append(_skipped(rule, f"{type(exc).__name__}."))
    return result


def _skipped(rule: ReclamationRule, why: str) -> str:
    return (
        f"Rule “{rule.name}” of {rule.profile.name} was skipped: {why} Correct it on the rule "
        "page; the other rules ran."
    )


def raise_for(subscription_ids, now: dt.datetime | None = None) -> int:
    """Raise candidates for these seats only, at once, where their profile's rule flags them
    ("Propose again now"). Returns how many were raised."""
    now = now or timezone.now()
    ids = list(subscription_ids)
    if not ids:
        return 0
    rules = ReclamationRule.objects.filter(
        active=True,
        profile__status=IntegrationProfile.Status.PUBLISHED,
        profile__subscriptions__pk__in=ids,
    ).distinct()
    token = uuid.uuid4()
    raised = 0
    with transaction.atomic():
        for rule in rules.select_related("profile"):
            if rule.days_problem():
                continue
            raised += raise_candidates(
                rule,
                now,
                token,
                with_activity=activity_known(rule.profile),
                costs=entitlement_costs(rule.profile_id, timezone.localdate(now)),
                only=ids,
            )
    return raised
