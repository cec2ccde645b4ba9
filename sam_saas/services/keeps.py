"""Keep decisions on seats: the core half of "a decision, once made, holds".

A reclamation workflow records on the subscription that a person decided to keep its seat
(``SoftwareSubscription.keep_*``); the core stores and shows it, and lifts it by hand here.
Lifting tells other apps through the ``keep_lifted`` signal, so the subscription page can offer
"Propose again now" without the core importing the reclamation app.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models, transaction

from ..models import SoftwareSubscription
from ..signals import keep_lifted

CLEARED = {
    "keep_decision": "",
    "keep_decided_by": "",
    "keep_decided_at": None,
    "keep_until": None,
    "keep_reason": "",
    "keep_terms": "",
}


def subscription_ids(subscriptions) -> list[int]:
    """Ids from a queryset, one subscription, or an iterable of subscriptions or ids."""
    if isinstance(subscriptions, models.QuerySet):
        return list(subscriptions.values_list("pk", flat=True))
    if isinstance(subscriptions, SoftwareSubscription):
        return [subscriptions.pk]
    if isinstance(subscriptions, int):
        return [subscriptions]
    items: Iterable = subscriptions
    return [getattr(item, "pk", item) for item in items]


def lift(subscriptions, actor=None, *, notify: bool = True) -> tuple[list[int], list[str]]:
    """Clear the keep decision of these seats, so candidate identification may propose them
    again. Returns the ids that had one, and the receivers' sentences for the admin message.
    Seats without a decision are left alone (lifting twice is harmless)."""
    ids = subscription_ids(subscriptions)
    held = SoftwareSubscription.objects.filter(pk__in=ids).exclude(keep_decision="")
    with transaction.atomic():
        lifted = sorted(held.values_list("pk", flat=True))
        SoftwareSubscription.objects.filter(pk__in=lifted).update(**CLEARED)
        messages: list[str] = []
        if lifted and notify:
            for _receiver, response in keep_lifted.send(
                sender=SoftwareSubscription, subscription_ids=lifted, actor=actor
            ):
                if isinstance(response, str) and response:
                    messages.append(response)
    return lifted, messages
