"""Entitlements: purchased rights for a software model."""

import datetime as dt
from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from .. import money
from .catalog import SoftwareModel
from .profiles import IntegrationProfile


def in_force_on(start_date: dt.date, end_date: dt.date | None, on: dt.date) -> bool:
    """The one definition of "in force": started by ``on``, and not past its end date.
    :meth:`EntitlementQuerySet.in_force` is the same condition in SQL."""
    return start_date <= on and (end_date is None or end_date >= on)


class EntitlementQuerySet(models.QuerySet):
    def in_force(self, on: dt.date | None = None):
        """Entitlements that count on ``on`` (:func:`in_force_on`, in SQL)."""
        on = on or timezone.localdate()
        return self.filter(start_date__lte=on).filter(
            models.Q(end_date__isnull=True) | models.Q(end_date__gte=on)
        )


class Entitlement(models.Model):
    """Purchased rights: how many seats of a software model were bought, at what unit cost,
    for which period. An entitlement past its end date stops counting."""

    class Period(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        ANNUAL = "annual", "Annual"

    software_model = models.ForeignKey(
        SoftwareModel, on_delete=models.PROTECT, related_name="entitlements"
    )
    profile = models.ForeignKey(
        IntegrationProfile,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="entitlements",
        help_text="Empty: counts for every profile of this software model.",
    )
    purchased_rights = models.PositiveIntegerField(help_text="Seats bought.")
    unit_cost = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Cost of one seat for one period.",
    )
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use an ISO 4217 code such as USD or EUR.")],
    )
    period = models.CharField(max_length=10, choices=Period.choices, default=Period.ANNUAL)
    start_date = models.DateField(default=timezone.localdate)
    end_date = models.DateField(null=True, blank=True)
    cost_center = models.CharField(max_length=60, blank=True)
    contract_reference = models.CharField("vendor contract or PO", max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = EntitlementQuerySet.as_manager()

    class Meta:
        ordering = ["software_model_id", "-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="%(app_label)s_%(class)s_end_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"),
                name="%(app_label)s_%(class)s_currency_iso4217",
            ),
        ]

    def __str__(self):
        return f"{self.purchased_rights} × {self.software_model} @ {self.unit_cost} {self.currency}/{self.period}"

    @property
    def annual_unit_cost(self) -> Decimal:
        """Unit cost per year, so monthly and annual contracts compare."""
        return money.annual_unit_cost(self.unit_cost, self.period)

    def is_in_force(self, on: dt.date | None = None) -> bool:
        """Whether this entitlement counts on ``on``: the row-level twin of ``in_force()``."""
        return in_force_on(self.start_date, self.end_date, on or timezone.localdate())
