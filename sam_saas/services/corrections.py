"""Corrections by hand of a seat's person or software model, and handing them back.

A SAM manager who sets the person or the software model of a subscription by hand knows
something the rules do not (a shared mailbox belongs to its owner; a seat is billed under
another edition). The correction is marked with who and when (``person_set_*``,
``software_model_set_*``); the download, the resolution rules and identifier mapping keep it.
"Return to automatic" clears the mark and lets the rules decide again at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from ..models import IntegrationProfile, SoftwareSubscription, SubscriptionIdentifier
from ..signals import seats_rejudged
from .keeps import subscription_ids
from .rules import apply_rules

PERSON = "person"
SOFTWARE_MODEL = "software_model"
FIELDS = (PERSON, SOFTWARE_MODEL)


def who(actor) -> str:
    if actor is None:
        return "system"
    name = actor.get_username() if hasattr(actor, "get_username") else str(actor)
    return name[:150]


def mark_by_hand(subscription: SoftwareSubscription, fields, actor, now=None) -> list[str]:
    """Mark ``fields`` (of :data:`FIELDS`) of an unsaved ``subscription`` as set by hand.
    Returns the model fields to save."""
    now = now or timezone.now()
    touched = []
    for name in fields:
        if name not in FIELDS:
            continue
        setattr(subscription, f"{name}_set_by", who(actor))
        setattr(subscription, f"{name}_set_at", now)
        touched += [name, f"{name}_set_by", f"{name}_set_at"]
    return touched


@dataclass
class ReturnResult:
    person: int = 0
    software_model: int = 0
    changed: int = 0

    def summary(self) -> str:
        return (
            f"Returned to automatic: {self.person} person(s) and {self.software_model} software "
            f"model(s); {self.changed} seat(s) changed by the rules."
        )


def return_to_automatic(subscriptions, fields=FIELDS) -> ReturnResult:
    """Clear the by-hand marks of ``fields`` on these subscriptions and let the rules decide:
    the model comes from the seat's identifier again, the person from the resolution rules
    (and the exclusions are judged again on that person)."""
    ids = subscription_ids(subscriptions)
    result = ReturnResult()
    with transaction.atomic():
        seats = SoftwareSubscription.objects.filter(pk__in=ids)
        if SOFTWARE_MODEL in fields:
            manual = seats.filter(software_model_set_at__isnull=False)
            identifier_model = SubscriptionIdentifier.objects.filter(
                pk=OuterRef("identifier_id")
            ).values("software_model_id")[:1]
            result.software_model = manual.update(
                software_model_set_at=None,
                software_model_set_by="",
                software_model=Subquery(identifier_model),
            )
        if PERSON in fields:
            manual = seats.filter(person_set_at__isnull=False)
            person_ids = list(manual.values_list("pk", flat=True))
            result.person = manual.update(person_set_at=None, person_set_by="")
            profiles = list(
                IntegrationProfile.objects.filter(subscriptions__pk__in=person_ids).distinct()
            )
            for profile in profiles:
                result.changed += apply_rules(profile, only=person_ids).changed
            if profiles:
                # A leaver candidate raised on the hand-set person may have lost its premise.
                seats_rejudged.send(
                    sender=SoftwareSubscription, profile_ids=[p.pk for p in profiles]
                )
    return result
