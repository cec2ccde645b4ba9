"""Identify reclamation candidates: set-based, one ``INSERT ... SELECT`` per rule.

The daily job (after the refresh), the admin's "Identify candidates now" and
``manage.py refresh --process candidates`` all run
:func:`reclamation.jobs.run_identification_job`. Why SQL and not a loop: ServiceNow needs platform tuning above 50,000 subscriptions; here the database
compares every seat with its rule in one statement, and Python only loops over rules (one per
profile).

Before raising new candidates, open ones whose premise broke are closed, also set-based: the
seat vanished at the vendor (Closed Skipped), it shows activity newer than the candidate knew
(Closed Canceled), or it became excluded from reclamation (Closed Skipped).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models, transaction
from django.db.models import Case, Exists, ExpressionWrapper, F, OuterRef, Q, Value, When
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from sam_saas import money
from sam_saas.models import Entitlement, IntegrationProfile, JobRun, SoftwareSubscription
from sam_saas.models.subscriptions import inactive_since_q, seat_since
from sam_saas.money import Cost

from ..models import OPEN_STATES, ReclamationCandidate, ReclamationRule
from .rules import ensure_rules_for_published_profiles
from .sql import insert_from_select
from .transitions import transition

State = ReclamationCandidate.State
Justification = ReclamationCandidate.Justification
Sub = SoftwareSubscription

IDENTIFICATION = "candidate identification"
DOWNLOAD = "subscription download"

JUSTIFICATION_NOTES = {
    Justification.LEAVER: "the person is inactive in the directory (a leaver)",
    Justification.STALE_INVITATION: "the invitation has been pending for more than {invitation_days} days",
    Justification.NEVER_USED: "no activity was ever recorded for the seat",
    Justification.LOW_USAGE: "no activity for more than {inactivity_days} days",
}


# -- what makes a seat a candidate ------------------------------------------------------------


def activity_known(profile: IntegrationProfile) -> bool:
    """Activity-based justifications (low usage, never used) need activity data: the profile
    pulls activity and at least one pull succeeded. Without this guard every seat of a fresh
    profile would look "never used" after its first download."""
    return (
        profile.activity_enabled
        and JobRun.objects.filter(
            profile=profile, kind=JobRun.Kind.ACTIVITY, status=JobRun.Status.SUCCEEDED
        ).exists()
    )


def eligible_seats(rule: ReclamationRule, now: dt.datetime) -> models.QuerySet:
    """The profile's seats a rule may flag at all. Never: the owner (also filtered by role,
    belt and braces: the download already excludes it), the connection's own account and every
    other seat excluded from reclamation, and seats inside the grace period (counted from the
    vendor's creation date, or from when we first saw the seat if the vendor gives none)."""
    return (
        Sub.objects.filter(
            profile_id=rule.profile_id,
            excluded_from_reclamation=False,
        )
        .holding_seats()
        .exclude(role__iexact="owner")
        .alias(seat_since=seat_since())
        .filter(seat_since__lt=now - dt.timedelta(days=rule.grace_days))
    )


def justification_expression(
    rule: ReclamationRule,
    now: dt.datetime,
    *,
    inactivity_days: int | None = None,
    with_activity: bool = True,
    output=None,
) -> Case | None:
    """The justification a seat gets from ``rule`` (NULL: none), most compelling first:
    leaver, stale invitation, never used, low usage. ``inactivity_days`` overrides the rule's
    threshold (the preview's 30/60/90/120 columns). None when the rule can flag nothing.

    ``output(justification)`` gives another value per justification instead of its code
    (:func:`kept_back` uses the decision terms)."""
    days = rule.inactivity_days if inactivity_days is None else inactivity_days
    if output is None:

        def output(justification):
            return justification

    whens = []
    if rule.reclaim_leavers:
        whens.append(When(person__active=False, then=Value(output(Justification.LEAVER))))
    if rule.invitation_days is not None:
        whens.append(
            When(
                Q(kind=Sub.Kind.INVITATION)
                & Q(seat_since__lt=now - dt.timedelta(days=rule.invitation_days)),
                then=Value(output(Justification.STALE_INVITATION)),
            )
        )
    if with_activity:
        # Low usage and never used are the seat vocabulary's "inactive since": exactly the
        # seats the dashboard counts as stale at this threshold (``SubscriptionQuerySet.stale``).
        member = Q(kind=Sub.Kind.MEMBER)
        cutoff = now - dt.timedelta(days=days)
        inactive = inactive_since_q(cutoff)
        if rule.include_never_active:
            whens.append(
                When(
                    member & Q(last_activity_at__isnull=True) & inactive,
                    then=Value(output(Justification.NEVER_USED)),
                )
            )
        whens.append(
            When(
                member & Q(last_activity_at__isnull=False) & inactive,
                then=Value(output(Justification.LOW_USAGE)),
            )
        )
    if not whens:
        return None
    return Case(*whens, default=Value(None), output_field=models.CharField())


def kept_back(rule: ReclamationRule, now: dt.datetime, *, with_activity: bool = True) -> Q:
    """Seats a person decided to keep (a rejected candidate, "I still need it", the manager's
    decline) for the very reason the rule would flag them now, under the same threshold, and
    whose "propose again after" period has not passed. New evidence, a different reason or a
    changed threshold lifts the hold by itself; "Propose again now" lifts it by hand."""
    terms_now = justification_expression(
        rule, now, with_activity=with_activity, output=rule.decision_terms
    )
    if terms_now is None:
        return Q(pk__in=[])
    return Q(keep_until__gt=now) & Q(keep_terms=terms_now)


def has_open_candidate() -> Exists:
    return Exists(
        ReclamationCandidate.objects.filter(subscription=OuterRef("pk"), state__in=OPEN_STATES)
    )


# -- what a seat would save --------------------------------------------------------------------


def entitlement_costs(profile_id: int | None, on: dt.date | None = None) -> dict[int, Cost]:
    """Annual unit cost per software model for a seat of ``profile_id``: the money module's
    one price (:func:`sam_saas.money.choose_price`), from the entitlements in force. One
    query; entitlements are few, so the costs then go into the SQL as constants instead of a
    correlated subquery per seat."""
    rows = Entitlement.objects.in_force(on).filter(
        Q(profile_id=profile_id) | Q(profile__isnull=True)
    )
    return money.prices_by_model(rows, profile_id)


def cost_expressions(costs: dict[int, Cost]) -> tuple:
    """(annual cost, currency, known) as SQL expressions over a subscription's model. A seat
    excluded from cost saves nothing: its saving is a known zero."""
    decimal = models.DecimalField(max_digits=12, decimal_places=2)
    excluded = Q(excluded_from_cost=True)
    zero = Value(Decimal("0"), output_field=decimal)
    if not costs:
        return (
            zero,
            Value("", output_field=models.CharField()),
            ExpressionWrapper(excluded, output_field=models.BooleanField()),
        )
    annual = Case(
        When(excluded, then=zero),
        *[When(software_model_id=m, then=Value(c.annual)) for m, c in costs.items()],
        default=zero,
        output_field=decimal,
    )
    currency = Case(
        When(excluded, then=Value("")),
        *[When(software_model_id=m, then=Value(c.currency)) for m, c in costs.items()],
        default=Value(""),
        output_field=models.CharField(),
    )
    # A CASE, not ``excluded OR software_model_id IN (…)``: for a seat with no software
    # model (an unrecognized identifier) the IN is NULL, and NULL breaks the NOT NULL column.
    known = Case(
        When(excluded | Q(software_model_id__in=list(costs)), then=Value(True)),
        default=Value(False),
        output_field=models.BooleanField(),
    )
    return annual, currency, known


# -- closing candidates whose premise broke ---------------------------------------------------


def _open(profile: IntegrationProfile | None = None, profiles=None) -> models.QuerySet:
    qs = ReclamationCandidate.objects.filter(state__in=OPEN_STATES)
    if profile is not None:
        qs = qs.filter(profile=profile)
    if profiles is not None:
        qs = qs.filter(profile__in=profiles)
    return qs


def close_vanished(profile: IntegrationProfile | None = None, *, profiles=None) -> list[int]:
    """Close the open candidates whose seat disappeared at the vendor (the download set the
    subscription to ``removed``, or the row is gone), as ServiceNow does: Awaiting Revocation
    becomes Closed Complete (the seat is gone, as the workflow wanted), any other open state
    Closed Skipped (nobody decided to remove it). Call it after a download for one profile;
    identification calls it for all. Returns the closed ids."""
    vanished = _open(profile, profiles).filter(
        Q(subscription__isnull=True) | Q(subscription__status=Sub.Status.REMOVED)
    )
    revoked = transition(
        vanished.filter(state=State.AWAITING_REVOCATION),
        [State.AWAITING_REVOCATION],
        State.CLOSED_COMPLETE,
        note="The subscription no longer exists at the vendor while awaiting revocation: "
        "counted as reclaimed.",
        label=DOWNLOAD,
    )
    others = [s for s in OPEN_STATES if s != State.AWAITING_REVOCATION]
    skipped = transition(
        vanished.filter(state__in=others),
        others,
        State.CLOSED_SKIPPED,
        note="The subscription no longer exists at the vendor: nothing left to reclaim.",
        label=DOWNLOAD,
    )
    return sorted(revoked + skipped)


def cancel_resumed(profile: IntegrationProfile | None = None, *, profiles=None) -> list[int]:
    """Close as Closed Canceled the open candidates whose seat shows activity newer than the
    candidate recorded (or any activity, for a never-used one)."""
    resumed = _open(profile, profiles).filter(
        Q(subscription__last_activity_at__gt=F("last_activity_at"))
        | Q(last_activity_at__isnull=True, subscription__last_activity_at__isnull=False)
    )
    return transition(
        resumed,
        OPEN_STATES,
        State.CLOSED_CANCELED,
        note="Activity resumed: the seat was used after the candidate was raised.",
        label=IDENTIFICATION,
    )


def close_excluded(
    profile: IntegrationProfile | None = None, *, profiles=None, label: str = IDENTIFICATION
) -> list[int]:
    """Close as Closed Skipped the open candidates whose seat became excluded from reclamation
    (a user exclusion rule added since, for example)."""
    excluded = _open(profile, profiles).filter(subscription__excluded_from_reclamation=True)
    return transition(
        excluded,
        OPEN_STATES,
        State.CLOSED_SKIPPED,
        note="The seat is now excluded from reclamation.",
        label=label,
    )


def close_returned_leavers(
    profile: IntegrationProfile | None = None, *, profiles=None, label: str = IDENTIFICATION
) -> list[int]:
    """Close as Closed Skipped the open leaver candidates whose seat's person is no longer
    inactive in the directory (reactivated by an import, or another person matched by a
    resolution rule or by hand)."""
    returned = (
        _open(profile, profiles)
        .filter(justification=Justification.LEAVER)
        .filter(Q(subscription__person__isnull=True) | Q(subscription__person__active=True))
        .filter(subscription__isnull=False)
    )
    return transition(
        returned,
        OPEN_STATES,
        State.CLOSED_SKIPPED,
        note="The seat's person is no longer a leaver in the directory.",
        label=label,
    )


RULE_CHANGE = "rule change"


def after_rejudge(sender, profile_ids=None, **kwargs) -> int:
    """``seats_rejudged``: the rules re-judged stored seats; close the open candidates whose
    premise broke, at once. Returns how many were closed."""
    profiles = None if profile_ids is None else list(profile_ids)
    closed = close_excluded(profiles=profiles, label=RULE_CHANGE)
    closed += close_returned_leavers(profiles=profiles, label=RULE_CHANGE)
    return len(closed)


# -- raising new candidates --------------------------------------------------------------------


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
        for rule in rules:
            with_activity = activity_known(rule.profile)
            if not with_activity:
                result.warnings.append(
                    f"{rule.profile.name}: no successful activity pull yet, so only leavers "
                    "and stale invitations were considered."
                )
            result.raised += raise_candidates(
                rule,
                now,
                token,
                with_activity=with_activity,
                costs=entitlement_costs(rule.profile_id, timezone.localdate(now)),
            )
    return result


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
            raised += raise_candidates(
                rule,
                now,
                token,
                with_activity=activity_known(rule.profile),
                costs=entitlement_costs(rule.profile_id, timezone.localdate(now)),
                only=ids,
            )
    return raised
