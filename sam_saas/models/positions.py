"""Licence position snapshots: the dated record reconciliation leaves, so trends can be drawn.

One row per date, software model, profile (empty = all profiles) and currency. The seat fields
describe the position of the model (or of the model in one profile) and are the same on every
currency row of it; the money fields are in the row's currency only. Amounts in different
currencies are never added up. ``currency`` is empty when no entitlement or candidate gives a
cost at all."""

from django.db import models
from django.utils import timezone

from .catalog import SoftwareModel
from .profiles import IntegrationProfile


def _money(verbose_name, *, null=False, help_text=""):
    return models.DecimalField(
        verbose_name,
        max_digits=14,
        decimal_places=2,
        null=null,
        blank=null,
        default=None if null else 0,
        help_text=help_text,
    )


class LicencePositionSnapshot(models.Model):
    """What was purchased against what is used, on one date (``services.reconcile``)."""

    class Status(models.TextChoices):
        COMPLIANT = "compliant", "Compliant"
        OVER_LICENSED = "over_licensed", "Over-licensed"
        UNDER_LICENSED = "under_licensed", "Under-licensed (shortfall)"
        UNLICENSED = "unlicensed", "No entitlement"
        SHARED = "shared", "Covered by a shared entitlement"

    date = models.DateField(db_index=True)
    software_model = models.ForeignKey(
        SoftwareModel, on_delete=models.CASCADE, related_name="position_snapshots"
    )
    profile = models.ForeignKey(
        IntegrationProfile,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="position_snapshots",
        help_text="Empty: the position of the software model across all profiles.",
    )
    currency = models.CharField(
        max_length=3, blank=True, help_text="Empty when nothing gives a cost (no entitlement)."
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    purchased = models.PositiveIntegerField(
        "rights purchased", default=0, help_text="Seats bought, entitlements in force."
    )
    assigned = models.PositiveIntegerField(
        "seats assigned", default=0, help_text="Active members not excluded from cost."
    )
    pending = models.PositiveIntegerField(
        "pending invitations", default=0, help_text="They hold seats too."
    )
    excluded = models.PositiveIntegerField(
        "excluded from cost", default=0, help_text="Seats held but kept out of the position."
    )
    available = models.PositiveIntegerField(
        default=0, help_text="Rights purchased and not held: free to assign."
    )
    shortfall = models.PositiveIntegerField(
        default=0, help_text="Seats held beyond the rights purchased: the true-up count."
    )
    shortfall_cost = _money(
        "true-up cost / year",
        null=True,
        help_text="Shortfall × annual unit cost. Empty when no entitlement gives a unit cost.",
    )
    over_licensed_cost = _money(
        "over-licensed cost / year", help_text="Available rights × annual unit cost."
    )
    annual_unit_cost = _money("annual unit cost", null=True)
    annual_spend = _money("annual spend", help_text="Rights × annual unit cost, in force.")
    stale = models.PositiveIntegerField(
        "stale seats",
        default=0,
        help_text="Assigned seats with no activity past the reclamation rule's threshold.",
    )
    open_candidates = models.PositiveIntegerField(default=0)
    potential_savings = _money(
        "potential savings / year", help_text="Open reclamation candidates of known cost."
    )
    savings_unknown = models.PositiveIntegerField(
        "candidates of unknown cost", default=0, help_text="Counted apart, never as zero."
    )
    freed_seats_ytd = models.PositiveIntegerField("freed seats this year", default=0)
    freed_value_ytd = _money(
        "freed value this year",
        help_text="Freed seats save money only once the purchased seat count is lowered, "
        "usually at renewal.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-date", "software_model_id", "profile_id", "currency"]
        verbose_name = "licence position"
        verbose_name_plural = "licence positions"
        constraints = [
            models.UniqueConstraint(
                fields=["date", "software_model", "profile", "currency"],
                condition=models.Q(profile__isnull=False),
                name="%(app_label)s_%(class)s_unique_date_model_profile_currency",
            ),
            models.UniqueConstraint(
                fields=["date", "software_model", "currency"],
                condition=models.Q(profile__isnull=True),
                name="%(app_label)s_%(class)s_unique_date_model_all_profiles_currency",
            ),
        ]
        indexes = [
            models.Index(fields=["software_model", "date"], name="sam_position_model_date_idx"),
        ]

    def __str__(self):
        scope = self.profile.name if self.profile_id else "all profiles"
        return f"{self.date} · {self.software_model} · {scope} {self.currency}".rstrip()

    @property
    def in_use(self) -> int:
        return self.assigned + self.pending
