"""The software catalog as connectors fill it: a vendor's subscription identifier, and the
software model it stands for when the vendor's app knows.

Every connector calls :func:`identifier_with_model` for the licence identifiers it downloads,
so a second vendor gets the same rules: a known identifier creates its publisher and model
and maps to it once; an unknown one stays "unrecognized" until a SAM manager maps it; a
mapping a manager made is never replaced."""

from __future__ import annotations

from ..models import Publisher, SoftwareModel, SubscriptionIdentifier


def identifier_with_model(
    provider: str,
    value: str,
    *,
    publisher: str = "",
    product: str = "",
    edition: str = "",
) -> SubscriptionIdentifier:
    """The identifier ``value`` of ``provider``, created if new. With a ``publisher``,
    ``product`` and ``edition`` (what the vendor's app knows the identifier stands for), an
    identifier that maps to no model yet is mapped to that model, created if needed."""
    identifier, _ = SubscriptionIdentifier.objects.get_or_create(provider=provider, value=value)
    if identifier.software_model_id is None and publisher and product and edition:
        owner, _ = Publisher.objects.get_or_create(name=publisher)
        model, _ = SoftwareModel.objects.get_or_create(
            publisher=owner, product=product, edition=edition
        )
        identifier.map_to(model)
    return identifier
