"""Rules apply at once: re-judge the stored seats a rule change or a people import can affect.

Without this, a new exclusion rule, a resolution rule or a directory import changed no stored
seat until the next download, and "Identify candidates now", the dashboard and the licence
position used the old flags. Every change now calls :func:`apply_at_once` with the profiles it
can affect: up to ``SAM_SETTINGS["RULES_INLINE_MAX_SEATS"]`` seats (5,000 by default) are
re-judged inline, in the request; above that an "Apply rules" job does it on a worker and the
admin message links to it. Either way :func:`rejudge` judges every seat of the profiles in one
set-based pass with the rules the download's :class:`RuleEngine` holds
(:mod:`.stored_rules`), writes only the seats whose verdict changed, then sends
``seats_rejudged`` so the reclamation app closes the open candidates whose premise broke.

:func:`matching_seats` answers "matches N seats now" for an exclusion rule (saved or not) with
one COUNT query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from ..models import (
    IntegrationProfile,
    JobRun,
    SoftwareSubscription,
    SubscriptionIdentifierExclusionRule,
    SubscriptionUserExclusionRule,
)
from ..models.rules import wildcard_regex
from ..signals import seats_rejudged
from . import jobs
from .bulk_sql import without_jit
from .rules import apply_rules_to

ALL = None  # scope: every profile
ANALYZE_AFTER_CHANGES = 10_000


def analyze_seats() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"ANALYZE {connection.ops.quote_name(SoftwareSubscription._meta.db_table)}"
            )


def inline_limit() -> int:
    return int(getattr(settings, "SAM_SETTINGS", {}).get("RULES_INLINE_MAX_SEATS", 5000))


def holding_seats(profile_ids=ALL) -> QuerySet:
    seats = SoftwareSubscription.objects.holding_seats()
    return seats if profile_ids is ALL else seats.filter(profile_id__in=list(profile_ids))


def matching_seats(rule) -> QuerySet:
    """The seats holding a licence that an exclusion rule (saved or not) matches now, by its
    criteria alone (whether it is active or in force does not matter: the form asks what it
    would match)."""
    if isinstance(rule, SubscriptionUserExclusionRule):
        q = Q()
        if rule.email_pattern:
            q &= Q(user_principal_name__iregex=wildcard_regex(rule.email_pattern.strip()))
        if rule.department:
            q &= Q(person__department__iexact=rule.department)
        if rule.cost_center:
            q &= Q(person__cost_center__iexact=rule.cost_center)
        if rule.role:
            q &= Q(role__iexact=rule.role)
        if not q:
            return SoftwareSubscription.objects.none()
        return holding_seats().filter(q)
    if isinstance(rule, SubscriptionIdentifierExclusionRule):
        if not rule.pattern:
            return SoftwareSubscription.objects.none()
        seats = holding_seats().filter(
            identifier__value__iregex=wildcard_regex(rule.pattern.strip())
        )
        return seats.filter(profile_id=rule.profile_id) if rule.profile_id else seats
    raise TypeError(f"not an exclusion rule: {rule!r}")


@dataclass
class RejudgeResult:
    examined: int = 0
    changed: int = 0
    unmatched: int = 0
    closed: int = 0

    def summary(self) -> str:
        return (
            f"{self.examined} seat(s) re-judged, {self.changed} changed; "
            f"{self.closed} open candidate(s) closed."
        )


def rejudge(profile_ids=ALL, *, progress=None) -> RejudgeResult:
    """Re-apply the rules to the seats of these profiles (ALL: every profile), then let other
    apps close what no longer holds. ``progress(percent, message)`` is told once the seats
    are judged. After a change to more than a tenth of a large table, PostgreSQL's statistics
    are refreshed (``ANALYZE``, allowed inside the transaction; ``VACUUM`` is not and is left to
    autovacuum, which only the changed rows concern), so the pages' plans see the new flags."""
    result = RejudgeResult()
    profiles = IntegrationProfile.objects.order_by("pk")
    if profile_ids is not ALL:
        profiles = profiles.filter(pk__in=list(profile_ids))
    profiles = list(profiles)
    with transaction.atomic():
        without_jit()
        # All profiles in one pass: one scan of the seats, one hash of the people.
        applied = apply_rules_to(profiles)
        result.examined, result.changed = applied.examined, applied.changed
        result.unmatched = applied.unmatched
        if progress is not None:
            progress(90, f"{applied.examined} seat(s) re-judged, {applied.changed} changed")
        if applied.changed >= ANALYZE_AFTER_CHANGES and applied.changed * 10 >= applied.examined:
            analyze_seats()
        ids = ALL if profile_ids is ALL else [p.pk for p in profiles]
        for _receiver, closed in seats_rejudged.send(sender=SoftwareSubscription, profile_ids=ids):
            if isinstance(closed, int):
                result.closed += closed
    return result


@dataclass
class Outcome:
    """What :func:`apply_at_once` did: re-judged inline (``result``) or queued a job."""

    seats: int
    result: RejudgeResult | None = None
    runs: list[JobRun] = field(default_factory=list)
    already_open: list[JobRun] = field(default_factory=list)

    def summary(self) -> str:
        if self.result is not None:
            return f"Rules applied at once: {self.result.summary()}"
        parts = [
            f"{self.seats} seat(s) to re-judge: more than {inline_limit()}, so an "
            "“Apply rules” job does it on a worker."
        ]
        if self.runs:
            parts.append("Queued: " + ", ".join(str(r) for r in self.runs) + ".")
        if self.already_open:
            parts.append(
                "Already queued or running: "
                + ", ".join(str(r) for r in self.already_open if r)
                + " (a run that has started may not see this change: run it again once it ends)."
            )
        return " ".join(parts)


def apply_at_once(profile_ids=ALL, *, trigger: str = JobRun.Trigger.MANUAL) -> Outcome:
    """Re-judge the seats of these profiles now if they are few, else queue "Apply rules" (one
    global run for ALL, one run per profile otherwise)."""
    if profile_ids is not ALL:
        profile_ids = sorted({pk for pk in profile_ids if pk is not None})
        if not profile_ids:
            return Outcome(seats=0, result=RejudgeResult())
    seats = holding_seats(profile_ids).count()
    outcome = Outcome(seats=seats)
    if seats <= inline_limit():
        outcome.result = rejudge(profile_ids)
        return outcome
    targets = (
        [None]
        if profile_ids is ALL
        else list(IntegrationProfile.objects.filter(pk__in=profile_ids))
    )
    for profile in targets:
        try:
            outcome.runs.append(jobs.enqueue(profile, JobRun.Kind.APPLY_RULES, trigger))
        except jobs.JobAlreadyOpen as exc:
            outcome.already_open.append(exc.existing)
    return outcome


def run_apply_rules_job(run: JobRun) -> None:
    """The APPLY_RULES job: one profile's seats, or every profile's for a global run."""
    jobs.report_progress(run, 1, "Re-judging the stored seats")
    result = rejudge(
        ALL if run.profile_id is None else [run.profile_id],
        progress=lambda percent, message: jobs.report_progress(run, percent, message),
    )
    jobs.add_counts(run, fetched=result.examined, updated=result.changed, removed=result.closed)
    run.unmatched = result.unmatched
    jobs.report_progress(run, 99, result.summary())


def scope_of(rule):
    """The profiles whose seats ``rule`` can affect: ALL, or a set of profile ids."""
    if isinstance(rule, SubscriptionUserExclusionRule):
        return ALL
    if isinstance(rule, SubscriptionIdentifierExclusionRule):
        return ALL if rule.profile_id is None else {rule.profile_id}
    if rule.pk is None:
        return ALL
    ids = set(rule.profiles.values_list("pk", flat=True))  # a resolution rule
    return ids or ALL


def union(*scopes):
    out: set[int] = set()
    for scope in scopes:
        if scope is ALL:
            return ALL
        out |= set(scope)
    return out
