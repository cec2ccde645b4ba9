"""Software subscriptions: one seat held by one identity in one profile."""

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .catalog import SoftwareModel, SubscriptionIdentifier
from .people import Person
from .profiles import IntegrationProfile


class SubscriptionQuerySet(models.QuerySet):
    def holding_seats(self):
        return self.filter(
            status__in=[SoftwareSubscription.Status.ACTIVE, SoftwareSubscription.Status.PENDING]
        )


class SoftwareSubscription(models.Model):
    """One seat (a member or a pending invitation) in one profile.

    Keyed by profile and the vendor's seat URI, so a re-download updates in place. Inactive
    days are derived from ``last_activity_at``, never stored, so they cannot go stale."""

    class Kind(models.TextChoices):
        MEMBER = "member", "Member"
        INVITATION = "invitation", "Pending invitation"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING = "pending", "Pending"
        REMOVED = "removed", "Removed"
        RECLAIMED = "reclaimed", "Reclaimed"

    profile = models.ForeignKey(
        IntegrationProfile, on_delete=models.CASCADE, related_name="subscriptions"
    )
    software_model = models.ForeignKey(
        SoftwareModel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subscriptions",
    )
    identifier = models.ForeignKey(
        SubscriptionIdentifier,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="subscriptions",
    )
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="subscriptions"
    )
    user_principal_name = models.CharField(
        max_length=254, help_text="The e-mail exactly as the vendor gives it."
    )
    user_name = models.CharField(max_length=200, blank=True)
    external_user_id = models.CharField(max_length=300, blank=True)
    external_seat_id = models.CharField(
        max_length=300, help_text="The vendor's membership or invitation URI."
    )
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.MEMBER)
    role = models.CharField(max_length=40, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    external_created_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    last_activity_source = models.CharField(
        max_length=60,
        blank=True,
        help_text="Where the last activity was learnt, e.g. the activity log.",
    )
    last_activity_evidence = models.CharField(
        max_length=300,
        blank=True,
        help_text="The vendor record proving the last activity (activity-log entry or event URI).",
    )
    last_login_at = models.DateTimeField(null=True, blank=True)
    excluded_from_cost = models.BooleanField(default=False)
    cost_exclusion_reason = models.CharField(max_length=300, blank=True)
    excluded_from_reclamation = models.BooleanField(default=False)
    reclamation_exclusion_reason = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["profile_id", "user_principal_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "external_seat_id"],
                name="%(app_label)s_%(class)s_unique_profile_seat",
            ),
        ]
        indexes = [
            models.Index(fields=["profile", "status"], name="sam_sub_profile_status_idx"),
            models.Index(fields=["last_activity_at"], name="sam_sub_last_activity_idx"),
            models.Index(Lower("user_principal_name"), name="sam_sub_upn_ci_idx"),
            # The changelist's default order (profile, e-mail) and its role filter's choices
            # (a loose index scan); e-mail and name search use trigram indexes that only
            # PostgreSQL has, created in migration 0005.
            models.Index(fields=["profile", "user_principal_name"], name="sam_sub_profile_upn_idx"),
            models.Index(fields=["role"], name="sam_sub_role_idx"),
        ]

    def __str__(self):
        return f"{self.user_principal_name} ({self.profile_id})"

    @property
    def inactive_days(self) -> int | None:
        """Whole days since the last activity; None when the seat was never active."""
        if self.last_activity_at is None:
            return None
        return (timezone.now() - self.last_activity_at).days

    @property
    def holds_seat(self) -> bool:
        return self.status in (self.Status.ACTIVE, self.Status.PENDING)
