"""Mapping unrecognized identifiers to a software model, the existing one or one created in
place ("Map to software model…" with publisher, product and edition typed in)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from ..models import Publisher, SoftwareModel, SubscriptionIdentifier


def ensure_software_model(publisher: str, product: str, edition: str = "") -> SoftwareModel:
    """The model named so, created if new. Safe to race: the unique constraints on the
    publisher's name and on (publisher, product, edition) make a second creator read the
    first one's row."""
    publisher, product, edition = publisher.strip(), product.strip(), edition.strip()
    for _ in range(2):
        try:
            with transaction.atomic():
                owner, _ = Publisher.objects.get_or_create(name=publisher)
                model, _ = SoftwareModel.objects.get_or_create(
                    publisher=owner, product=product, edition=edition
                )
                return model
        except IntegrityError:
            continue
    return SoftwareModel.objects.get(publisher__name=publisher, product=product, edition=edition)


def map_identifiers(identifiers: list[SubscriptionIdentifier], software_model) -> int:
    """Map each identifier (``SubscriptionIdentifier.map_to``, which keeps models set by hand
    on single seats); returns how many subscriptions were re-pointed."""
    with transaction.atomic():
        return sum(identifier.map_to(software_model) for identifier in identifiers)
