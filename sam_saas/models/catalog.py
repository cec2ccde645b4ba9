"""The software catalog: publishers, software models and the vendor identifiers mapped to them."""

from django.db import models, transaction
from django.utils import timezone


class Publisher(models.Model):
    """A software publisher, for example Calendly."""

    name = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class SoftwareModel(models.Model):
    """Publisher + product + edition, e.g. Calendly / Calendly / Teams. Entitlements and cost
    are attached to a software model, so every subscription should end up on one.

    Shown as :attr:`name`: "Calendly Teams", with the publisher in brackets only where the
    product does not already say it ("Teams Premium (Microsoft)")."""

    publisher = models.ForeignKey(Publisher, on_delete=models.PROTECT, related_name="models")
    product = models.CharField(max_length=200)
    edition = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["publisher__name", "product", "edition"]
        constraints = [
            models.UniqueConstraint(
                fields=["publisher", "product", "edition"],
                name="%(app_label)s_%(class)s_unique_publisher_product_edition",
            )
        ]

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return model_name(self.publisher.name, self.product, self.edition)


def model_name(publisher: str, product: str, edition: str = "") -> str:
    """ "Calendly Enterprise" for Calendly / Calendly / Enterprise; the publisher is added in
    brackets where the product's name does not start with it."""
    text = f"{product} {edition}".strip()
    if publisher and not product.casefold().startswith(publisher.casefold()):
        text = f"{text} ({publisher})"
    return text


class SubscriptionIdentifier(models.Model):
    """A vendor's licence or plan identifier (e.g. ``calendly-teams``).

    A known identifier maps to a software model. One without a model is *unrecognized* and is
    listed for a SAM manager to map; mapping re-points every subscription carrying it."""

    provider = models.CharField(max_length=40)
    value = models.CharField(max_length=200)
    software_model = models.ForeignKey(
        SoftwareModel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="identifiers",
        help_text="Empty while the identifier is unrecognized.",
    )
    first_seen_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["provider", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "value"], name="%(app_label)s_%(class)s_unique_provider_value"
            )
        ]

    def __str__(self):
        return self.value

    @property
    def is_recognized(self) -> bool:
        return self.software_model_id is not None

    def map_to(self, software_model) -> int:
        """Map this identifier to ``software_model`` and re-point its subscriptions in one
        UPDATE (except those whose model was set by hand). Returns the number re-pointed."""
        with transaction.atomic():
            type(self).objects.filter(pk=self.pk).update(software_model=software_model)
            self.software_model = software_model
            # A model set by hand on a seat stays until "Return to automatic". The reverse
            # relation, so this module need not import the subscriptions module (which
            # imports this one).
            return self.subscriptions.filter(software_model_set_at__isnull=True).update(
                software_model=software_model
            )
