"""Software subscriptions: one seat held by one identity in one profile."""

import datetime as dt

from django.db import models
from django.db.models import Case, Q, Value, When
from django.db.models.functions import Coalesce, Lower
from django.db.models.lookups import LessThan
from django.utils import timezone

from .. import extensions
from ..extensions import StaleThresholds
from .catalog import SoftwareModel, SubscriptionIdentifier
from .people import Person
from .profiles import IntegrationProfile

# Last-activity buckets, shared by the dashboard chart, the subscription admin's "last activity"
# filter and the report FilterSet, so a bar's count and the list it links to always agree.
ACTIVITY_BUCKETS = (
    ("0-30", "0–30 days"),
    ("30-60", "30–60 days"),
    ("60-90", "60–90 days"),
    ("90-120", "90–120 days"),
    ("120+", "over 120 days"),
    ("never", "never active"),
)
STALE = "stale"
ACTIVITY_CHOICES = (*ACTIVITY_BUCKETS, (STALE, "stale (past the rule threshold)"))
NOTHING = Q(pk__in=[])


def holding_q() -> Q:
    """A seat held at the vendor: an active member or a pending invitation."""
    return Q(status__in=SoftwareSubscription.HOLDING)


def assigned_q() -> Q:
    """An assigned seat as the licence position counts it: active, not excluded from cost."""
    return Q(status=SoftwareSubscription.Status.ACTIVE, excluded_from_cost=False)


def pending_q() -> Q:
    """A pending invitation as the licence position counts it: not excluded from cost."""
    return Q(status=SoftwareSubscription.Status.PENDING, excluded_from_cost=False)


def seat_since():
    """When the seat began: the vendor's creation date, else when we first saw it."""
    return Coalesce("external_created_at", "first_seen_at")


def stale_cutoff(now: dt.datetime, thresholds: StaleThresholds):
    """The moment before which a seat's last activity makes it stale, per profile, as SQL."""
    default = Value(now - dt.timedelta(days=thresholds.default_days), models.DateTimeField())
    special = {p: d for p, d in thresholds.per_profile.items() if d != thresholds.default_days}
    if not special:
        return default
    return Case(
        *[
            When(profile_id=p, then=Value(now - dt.timedelta(days=d), models.DateTimeField()))
            for p, d in sorted(special.items())
        ],
        default=default,
        output_field=models.DateTimeField(),
    )


def inactive_since_q(cutoff) -> Q:
    """Inactive since before ``cutoff`` (a datetime or SQL): last active before it, or never
    active and begun before it. The one definition of "stale" (with the threshold's cutoff)
    and of the rule's low-usage and never-used seats."""
    return Q(last_activity_at__lt=cutoff) | (
        Q(last_activity_at__isnull=True) & Q(LessThan(seat_since(), cutoff))
    )


def stale_q(now: dt.datetime, thresholds: StaleThresholds | None = None) -> Q:
    """A member seat past its profile's inactivity threshold (:func:`inactive_since_q`).
    Matches nothing when no installed app defines the threshold."""
    thresholds = thresholds or extensions.stale_thresholds()
    if thresholds is None:
        return NOTHING
    return Q(kind=SoftwareSubscription.Kind.MEMBER) & inactive_since_q(
        stale_cutoff(now, thresholds)
    )


def activity_q(bucket: str, now: dt.datetime, thresholds: StaleThresholds | None = None) -> Q:
    """The condition of one last-activity bucket (see ``ACTIVITY_CHOICES``). The buckets
    do not overlap and, with "never", cover every seat."""
    if bucket == STALE:
        return stale_q(now, thresholds)
    if bucket == "never":
        return Q(last_activity_at__isnull=True)
    if bucket == "120+":
        return Q(last_activity_at__lt=now - dt.timedelta(days=120))
    low, high = (int(part) for part in bucket.split("-"))
    condition = Q(last_activity_at__gte=now - dt.timedelta(days=high))
    if low:
        condition &= Q(last_activity_at__lt=now - dt.timedelta(days=low))
    return condition


class SubscriptionQuerySet(models.QuerySet):
    """The seat vocabulary, each term defined once: every page, rule and report uses these."""

    def holding_seats(self):
        return self.filter(holding_q())

    def assigned(self):
        return self.filter(assigned_q())

    def pending_invitations(self):
        return self.filter(pending_q())

    def never_active(self):
        return self.filter(last_activity_at__isnull=True)

    def in_activity_bucket(self, bucket: str, now: dt.datetime | None = None):
        return self.filter(activity_q(bucket, now or timezone.now()))

    def stale(self, now: dt.datetime | None = None, thresholds: StaleThresholds | None = None):
        """Assigned member seats past their profile's inactivity threshold: the dashboard's
        "stale seats" and the licence position's "stale" column."""
        return self.filter(assigned_q() & stale_q(now or timezone.now(), thresholds))

    def counted(self):
        """Seats of published profiles: the only ones that count in money, positions and the
        dashboard (a draft profile's seats are not yet trusted)."""
        return self.filter(profile__status=IntegrationProfile.Status.PUBLISHED)


class KeepDecision(models.TextChoices):
    """Why a seat is held back from reclamation for a while: a person decided to keep it.

    Vendor- and workflow-neutral on purpose: the reclamation app writes these fields (through
    ``reclamation.services.decisions``) and reads them when it identifies candidates; the core
    only stores and shows them."""

    REJECTED = "rejected", "Rejected by a SAM manager"
    KEPT_BY_USER = "kept_by_user", "Kept by its user"
    DECLINED_BY_MANAGER = "declined_by_manager", "Removal declined by the user's manager"


class SoftwareSubscription(models.Model):
    """One seat (a member or a pending invitation) in one profile.

    Keyed by profile and the vendor's seat URI, so a re-download updates in place. Inactive
    days are derived from ``last_activity_at``, never stored, so they cannot go stale.

    Two kinds of human decision live on the seat, each with who and when, because no automatic
    run may silently undo them: a *keep* (``keep_*``: the seat was rejected for reclamation or
    kept by its user or manager, and is not proposed again for the same reason before
    ``keep_until`` or before the rule's thresholds change), and a *correction by hand* of the
    person or the software model (``person_set_*``, ``software_model_set_*``), which the
    downloads and the resolution rules keep until "Return to automatic"."""

    KeepDecision = KeepDecision

    class Kind(models.TextChoices):
        MEMBER = "member", "Member"
        INVITATION = "invitation", "Pending invitation"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING = "pending", "Pending"
        REMOVED = "removed", "Removed"
        RECLAIMED = "reclaimed", "Reclaimed"

    HOLDING = (Status.ACTIVE, Status.PENDING)  # the statuses that hold a seat at the vendor

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

    # A person's decision to keep the seat (see the class docstring).
    keep_decision = models.CharField(
        db_default="",
        default="",
        max_length=24,
        choices=KeepDecision.choices,
        blank=True,
        editable=False,
    )
    keep_decided_by = models.CharField(
        db_default="",
        default="",
        max_length=254,
        blank=True,
        editable=False,
        help_text="The SAM manager's username, or the e-mail of the user who answered.",
    )
    keep_decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    keep_until = models.DateTimeField(
        "not proposed again before",
        null=True,
        blank=True,
        editable=False,
        help_text="The rule's “propose again after” period counted from the decision.",
    )
    keep_reason = models.CharField(
        db_default="", default="", max_length=500, blank=True, editable=False
    )
    keep_terms = models.CharField(
        db_default="",
        default="",
        max_length=200,
        blank=True,
        editable=False,
        help_text="The justification and rule threshold the decision was made under; a "
        "changed threshold re-opens the question.",
    )

    # Corrections by hand: downloads and resolution rules keep these until "Return to automatic".
    person_set_by = models.CharField(
        "person set by hand by", max_length=150, blank=True, default="", db_default=""
    )
    person_set_at = models.DateTimeField("person set by hand at", null=True, blank=True)
    software_model_set_by = models.CharField(
        "software model set by hand by", max_length=150, blank=True, default="", db_default=""
    )
    software_model_set_at = models.DateTimeField(
        "software model set by hand at", null=True, blank=True
    )
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
            # PostgreSQL has, created in migration 0011.
            models.Index(fields=["profile", "user_principal_name"], name="sam_sub_profile_upn_idx"),
            models.Index(fields=["role"], name="sam_sub_role_idx"),
            # "Has user: No" (the dashboard's subscriptions-without-user tile) in the default
            # order: seats without a person are a few percent, bunched in some profiles, so
            # walking the full order index for them read 180k pages at a million seats.
            models.Index(
                fields=["profile", "user_principal_name"],
                condition=Q(person__isnull=True),
                name="sam_sub_no_person_idx",
            ),
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
    def person_by_hand(self) -> bool:
        return self.person_set_at is not None

    @property
    def software_model_by_hand(self) -> bool:
        return self.software_model_set_at is not None

    def keep_in_force(self, now=None) -> bool:
        return bool(
            self.keep_decision and self.keep_until and self.keep_until > (now or timezone.now())
        )

    def keep_summary(self) -> str:
        """ "Kept by its user on 2026-12-01; not proposed again before 2027-03-01", or ""."""
        if not self.keep_decision or not self.keep_decided_at:
            return ""
        text = f"{self.get_keep_decision_display()} on {self.keep_decided_at:%Y-%m-%d}"
        if self.keep_decided_by:
            text += f" ({self.keep_decided_by})"
        if self.keep_until and self.keep_until > timezone.now():
            text += (
                f"; not proposed again before {self.keep_until:%Y-%m-%d}, unless the rule's "
                "threshold changes"
            )
        elif self.keep_until:
            text += f"; may be proposed again since {self.keep_until:%Y-%m-%d}"
        if self.keep_reason:
            text += f". Reason: {self.keep_reason}"
        return text

    @staticmethod
    def last_seen_expression():
        """ "Last seen" in SQL; :attr:`last_seen` is the same rule for one loaded seat.

        A seat still held was seen in the profile's last complete listing, kept once on the
        profile (``last_listed_at``) so that an unchanged download writes nothing per seat;
        a seat no longer held keeps the time of the last listing that had it."""
        holding = [SoftwareSubscription.Status.ACTIVE, SoftwareSubscription.Status.PENDING]
        return models.Case(
            models.When(
                models.Q(status__in=holding, profile__last_listed_at__isnull=False),
                then=models.F("profile__last_listed_at"),
            ),
            default=models.F("last_seen_at"),
            output_field=models.DateTimeField(),
        )

    @property
    def last_seen(self):
        """See :meth:`last_seen_expression`."""
        listed = self.profile.last_listed_at if self.holds_seat else None
        return listed or self.last_seen_at

    @property
    def holds_seat(self) -> bool:
        return self.status in self.HOLDING
