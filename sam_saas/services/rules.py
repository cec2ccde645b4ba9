"""Applying user resolution rules and exclusion rules to subscriptions.

The download calls :class:`RuleEngine` page by page on unsaved objects (so matching costs one
query per page), and :func:`apply_rules` re-applies everything to stored subscriptions, e.g.
after a directory import or a rule change. Rules are few, so they are loaded once per run;
people are looked up per batch, never all at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import CharField, Q, Value
from django.db.models.functions import Lower
from django.utils import timezone

from ..connectors import ConnectorError, get_connector
from ..models import (
    IntegrationProfile,
    Person,
    SoftwareSubscription,
    SubscriptionIdentifierExclusionRule,
    SubscriptionUserExclusionRule,
    UserResolutionRule,
)
from .stored_rules import judge_stored_seats


@dataclass(frozen=True)
class PersonFacts:
    id: int
    email: str
    department: str
    cost_center: str
    active: bool


@dataclass(frozen=True)
class Verdict:
    person: PersonFacts | None
    excluded_from_cost: bool
    cost_exclusion_reason: str
    excluded_from_reclamation: bool
    reclamation_exclusion_reason: str


def _split(email: str) -> tuple[str, str]:
    """(local part, domain), split at the first "@" as the set-based judge does
    (``stored_rules.Sql.local_part``); without a local part, the whole text is the local
    part."""
    local, at, domain = (email or "").strip().lower().partition("@")
    if not at:
        return local, ""
    return (local, domain) if local else (domain, "")


class RuleEngine:
    """The rules in force for one profile, ready to judge many subscriptions."""

    def __init__(self, profile: IntegrationProfile, now: dt.datetime | None = None):
        self.profile = profile
        now = now or timezone.now()
        self.resolution_rules = list(
            UserResolutionRule.objects.filter(active=True)
            .filter(Q(profiles__isnull=True) | Q(profiles=profile))
            .distinct()
            .order_by("priority", "pk")
        )
        self.identifier_rules = [
            r
            for r in SubscriptionIdentifierExclusionRule.objects.in_force(now)
            if r.profile_id in (None, profile.pk)
        ]
        self.user_rules = list(SubscriptionUserExclusionRule.objects.in_force(now))
        self._people: dict[str, PersonFacts] = {}
        self._by_local: dict[str, list[PersonFacts]] = {}
        self._by_id: dict[int, PersonFacts] = {}
        self._absent: set[str] = set()

    # -- people -----------------------------------------------------------------------------

    def _candidate_emails(self, upn: str) -> list[str]:
        email = upn.strip().lower()
        local, domain = _split(email)
        out = [email]
        for rule in self.resolution_rules:
            if (
                rule.transform == UserResolutionRule.Transform.REPLACE_DOMAIN
                and local
                and (not rule.match_domain or rule.match_domain == domain)
            ):
                out.append(f"{local}@{rule.new_domain}")
        return out

    def prefetch(self, upns: Iterable[str], person_ids: Iterable[int] = ()) -> None:
        """Load the people these e-mails may resolve to, and the people set by hand
        (``person_ids``): one query (two with a remove-domain rule)."""
        wanted: set[str] = set()
        locals_: set[str] = set()
        remove_domain = any(
            r.transform == UserResolutionRule.Transform.REMOVE_DOMAIN for r in self.resolution_rules
        )
        for upn in upns:
            wanted.update(self._candidate_emails(upn))
            if remove_domain:
                locals_.add(_split(upn)[0])
        alias_ids = {
            r.person_id
            for r in self.resolution_rules
            if r.transform == UserResolutionRule.Transform.ALIAS
        }
        alias_ids |= {pk for pk in person_ids if pk is not None}
        wanted = {e for e in wanted if e not in self._people and e not in self._absent}
        alias_ids = {pk for pk in alias_ids if pk not in self._by_id}
        if not wanted and not locals_ and not alias_ids:
            return
        query = Q(email_ci__in=wanted)
        if alias_ids:
            query |= Q(pk__in=alias_ids)
        for local in locals_:
            query |= Q(email__istartswith=f"{local}@")
        found = self._remember(Person.objects.annotate(email_ci=Lower("email")).filter(query))
        # Looked up and not there: later batches (a download's re-run prefetches every stored
        # e-mail at once) do not ask again.
        self._absent.update(wanted - found)

    def _remember(self, people) -> set[str]:
        found = set()
        rows = people.values_list("pk", "email_ci", "department", "cost_center", "active")
        for row in rows:
            facts = PersonFacts(*row)
            self._people[facts.email] = facts
            self._by_id[facts.id] = facts
            same_local = self._by_local.setdefault(_split(facts.email)[0], [])
            if facts not in same_local:
                same_local.append(facts)
            found.add(facts.email)
        return found

    def match_person(self, upn: str) -> PersonFacts | None:
        email = (upn or "").strip().lower()
        if email in self._people:
            return self._people[email]
        local, domain = _split(email)
        for rule in self.resolution_rules:
            t = rule.transform
            if t == UserResolutionRule.Transform.ALIAS:
                if rule.alias_email.strip().lower() == email:
                    return self._by_id.get(rule.person_id)
            elif t == UserResolutionRule.Transform.REPLACE_DOMAIN:
                if local and (not rule.match_domain or rule.match_domain == domain):
                    hit = self._people.get(f"{local}@{rule.new_domain}")
                    if hit:
                        return hit
            elif t == UserResolutionRule.Transform.REMOVE_DOMAIN:
                hits = self._by_local.get(local, [])
                if len(hits) == 1:  # ambiguous local parts match nobody rather than the wrong one
                    return hits[0]
        return None

    # -- exclusions -------------------------------------------------------------------------

    def judge(
        self,
        upn: str,
        role: str,
        identifier_value: str,
        vendor_protection: str = "",
        *,
        by_hand: bool = False,
        person_id: int | None = None,
    ) -> Verdict:
        """Decide person and exclusions for one seat. ``vendor_protection`` is a reason the
        connector gives for a seat that can never be reclaimed (the Calendly owner, the
        connection's own account). ``by_hand``: a SAM manager set the person (``person_id``,
        possibly nobody) by hand; it is kept, and the exclusions are judged on that person
        (prefetch it with ``person_ids``)."""
        person = self._by_id.get(person_id) if by_hand else self.match_person(upn)
        cost_reasons = [
            f"Identifier rule {r.pattern!r}: {r.reason}"
            for r in self.identifier_rules
            if r.matches(identifier_value or "", self.profile.pk)
        ]
        reclaim_reasons = [vendor_protection] if vendor_protection else []
        for rule in self.user_rules:
            if rule.matches(
                upn,
                person.department if person else "",
                person.cost_center if person else "",
                role,
            ):
                text = f"User rule {rule}: {rule.reason}"
                if rule.exclude_from_cost:
                    cost_reasons.append(text)
                if rule.exclude_from_reclamation:
                    reclaim_reasons.append(text)
        return Verdict(
            person=person,
            excluded_from_cost=bool(cost_reasons),
            cost_exclusion_reason="; ".join(cost_reasons)[:300],
            excluded_from_reclamation=bool(reclaim_reasons),
            reclamation_exclusion_reason="; ".join(reclaim_reasons)[:300],
        )

    def apply(self, sub: SoftwareSubscription, vendor_protection: str = "") -> bool:
        """Set person and exclusion fields on ``sub`` (unsaved). Returns True if any changed."""
        identifier = sub.identifier.value if sub.identifier_id else ""
        by_hand = sub.person_set_at is not None
        verdict = self.judge(
            sub.user_principal_name,
            sub.role,
            identifier,
            vendor_protection,
            by_hand=by_hand,
            person_id=sub.person_id,
        )
        new = {
            "person_id": sub.person_id
            if by_hand
            else (verdict.person.id if verdict.person else None),
            "excluded_from_cost": verdict.excluded_from_cost,
            "cost_exclusion_reason": verdict.cost_exclusion_reason,
            "excluded_from_reclamation": verdict.excluded_from_reclamation,
            "reclamation_exclusion_reason": verdict.reclamation_exclusion_reason,
        }
        changed = any(getattr(sub, k) != v for k, v in new.items())
        for k, v in new.items():
            setattr(sub, k, v)
        return changed


APPLIED_FIELDS = [
    "person",
    "excluded_from_cost",
    "cost_exclusion_reason",
    "excluded_from_reclamation",
    "reclamation_exclusion_reason",
]


@dataclass
class ApplyResult:
    examined: int = 0
    changed: int = 0
    unmatched: int = 0


def apply_rules(profile: IntegrationProfile, batch_size: int = 1000, *, only=None) -> ApplyResult:
    """Re-apply resolution and exclusion rules to a profile's stored subscriptions that hold a
    seat (of the ids ``only``, when given): :func:`apply_rules_to` for one profile."""
    return apply_rules_to([profile], batch_size=batch_size, only=only)


def apply_rules_to(profiles, batch_size: int = 1000, *, only=None) -> ApplyResult:
    """Re-apply resolution and exclusion rules to these profiles' stored subscriptions that
    hold a seat (of the ids ``only``, when given). The vendor's protections (owner, connection
    account) are judged again from the stored seat. A person set by hand is kept.

    One set-based pass over every profile whose connector gives its protection as SQL, as
    every bundled one does (:mod:`.stored_rules`); any other profile is read in batches and
    each batch's changed rows written with one bulk UPDATE."""
    engines, protections, per_seat = [], {}, []
    for profile in profiles:
        try:
            connector = get_connector(profile.provider)
        except ConnectorError:
            connector = None
        expression = (
            connector.protection_expression(profile)
            if connector is not None
            else Value("", output_field=CharField())
        )
        if expression is None:
            per_seat.append((profile, connector.protection_reason))
            continue
        engines.append(RuleEngine(profile))
        protections[profile.pk] = expression
    result = ApplyResult()
    if engines:
        examined, changed, unmatched = judge_stored_seats(engines, protections, only)
        result = ApplyResult(examined=examined, changed=changed, unmatched=unmatched)
    for profile, protection in per_seat:
        one = _apply_per_seat(profile, protection, batch_size, only)
        result.examined += one.examined
        result.changed += one.changed
        result.unmatched += one.unmatched
    return result


def _apply_per_seat(profile, protection, batch_size, only) -> ApplyResult:
    engine = RuleEngine(profile)
    result = ApplyResult()
    qs = (
        SoftwareSubscription.objects.holding_seats()
        .filter(profile=profile)
        .select_related("identifier")
        .order_by("pk")
    )
    if only is not None:
        qs = qs.filter(pk__in=list(only))
    batch: list[SoftwareSubscription] = []

    def flush():
        engine.prefetch(
            (s.user_principal_name for s in batch),
            person_ids=[s.person_id for s in batch if s.person_set_at is not None],
        )
        dirty = []
        for sub in batch:
            sub.profile = profile  # one shared instance: no query per seat for the alias
            reason = protection(sub) if protection else ""
            if engine.apply(sub, vendor_protection=reason):
                dirty.append(sub)
            if sub.person_id is None:
                result.unmatched += 1
        SoftwareSubscription.objects.bulk_update(dirty, APPLIED_FIELDS, batch_size=batch_size)
        result.changed += len(dirty)
        result.examined += len(batch)
        batch.clear()

    for sub in qs.iterator(chunk_size=batch_size):
        batch.append(sub)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return result
