"""Reclamation rules, candidates and the event trail of every candidate's transitions.

A candidate keeps a snapshot of what it was raised on (the seat's e-mail, person, profile,
rule settings, last activity) because the subscription, profile and rule it points to may be
deleted later: closed candidates are the record of what was reclaimed and why.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from sam_saas.models import IntegrationProfile, Person, SoftwareSubscription

# Every day count of a rule lies in 1-3650 (grace: 0-3650). A larger one (2147483647 saved
# fine before) overflows the date arithmetic of the preview and of identification.
RULE_DAYS_MAX = 3650


def rule_days(minimum: int = 1) -> list:
    return [MinValueValidator(minimum), MaxValueValidator(RULE_DAYS_MAX)]


class ReclamationRule(models.Model):
    """Turns stale seats of one profile into reclamation candidates.

    One rule is auto-created per profile (``services.rules.ensure_rule``), named after it and
    flagged for review. Unlike ServiceNow's, an auto-created rule can be deactivated. Removing
    the profile keeps the rule (``SET_NULL``) so the candidates it raised still name it."""

    name = models.CharField(max_length=120)
    profile = models.OneToOneField(
        IntegrationProfile,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reclamation_rule",
        help_text="Empty once the profile was removed; the rule is kept for the record.",
    )
    active = models.BooleanField(default=True, help_text="Inactive rules raise no candidates.")
    needs_review = models.BooleanField(
        default=True,
        help_text="Set on auto-created rules; cleared when a SAM manager saves the rule.",
    )
    inactivity_days = models.PositiveIntegerField(
        "last-activity threshold (days)",
        default=60,
        validators=rule_days(),
        help_text="A seat with no activity for this many days is a low-usage candidate.",
    )
    grace_days = models.PositiveIntegerField(
        "grace for new seats (days)",
        default=30,
        validators=rule_days(0),
        help_text="Seats created at the vendor less than this many days ago are never candidates.",
    )
    include_never_active = models.BooleanField(
        "include never-active seats",
        default=True,
        help_text="Seats with no recorded activity at all become “never used” candidates.",
    )
    invitation_days = models.PositiveIntegerField(
        "reclaim pending invitations older than (days)",
        null=True,
        blank=True,
        default=30,
        validators=rule_days(),
        help_text="Empty: pending invitations never become candidates.",
    )
    reclaim_leavers = models.BooleanField(
        "reclaim leavers at once",
        default=True,
        help_text="Seats of people inactive in the directory become candidates whatever "
        "their activity.",
    )
    require_approval = models.BooleanField(
        "require SAM approval",
        default=True,
        help_text="Candidates wait in Awaiting Approval; otherwise they start as Ready.",
    )
    notify_user = models.BooleanField(
        default=False,
        help_text="E-mail the seat holder with “I still need it” and “Release it” links "
        "before reclaiming.",
    )
    days_before_reclaim = models.PositiveIntegerField(
        "days before automatic reclamation after notifying",
        default=7,
        validators=rule_days(),
        help_text="With no answer after this many days the seat is reclaimed.",
    )
    propose_again_after_days = models.PositiveIntegerField(
        "propose again after (days)",
        default=90,
        validators=rule_days(),
        help_text="A seat whose candidate was rejected, or that its user or manager chose to "
        "keep, is not proposed again for the same reason before this many days have passed "
        "since the decision, unless the threshold behind that reason changes.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    # The settings copied onto each candidate, so a later edit of the rule does not change
    # why an existing candidate was raised or what approving it does.
    SNAPSHOT_FIELDS = (
        "inactivity_days",
        "grace_days",
        "include_never_active",
        "invitation_days",
        "reclaim_leavers",
        "require_approval",
        "notify_user",
        "days_before_reclaim",
        "propose_again_after_days",
    )

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    DAY_FIELDS = (
        "inactivity_days",
        "grace_days",
        "invitation_days",
        "days_before_reclaim",
        "propose_again_after_days",
    )

    def days_problem(self) -> str:
        """Why this rule's day counts cannot be used ("" when they can): a row saved before
        the bounds, or written around the form, must not break identification for everyone."""
        for name in self.DAY_FIELDS:
            value = getattr(self, name)
            if value is None and name == "invitation_days":
                continue
            low = 0 if name == "grace_days" else 1
            if value is None or not low <= value <= RULE_DAYS_MAX:
                label = self._meta.get_field(name).verbose_name
                return f"{label} is {value}; it must be between {low} and {RULE_DAYS_MAX}."
        return ""

    def decision_terms(self, justification: str) -> str:
        """The threshold a keep decision about ``justification`` is made under, e.g.
        ``low_usage:inactivity_days=60``. Stored on the subscription with the decision; when
        the rule's threshold for that reason changes, the stored terms no longer match and the
        seat may be proposed again (see ``services.decisions``)."""
        return decision_terms(justification, self.snapshot())

    def snapshot(self) -> dict:
        data = {name: getattr(self, name) for name in self.SNAPSHOT_FIELDS}
        data.update(rule_id=self.pk, name=self.name)
        return data


# Which rule setting each justification rests on: a keep decision holds while it is unchanged.
JUSTIFICATION_THRESHOLDS = {
    "leaver": "reclaim_leavers",
    "stale_invitation": "invitation_days",
    "never_used": "include_never_active",
    "low_usage": "inactivity_days",
}


def decision_terms(justification: str, settings_: dict) -> str:
    """``justification:setting=value`` from a rule or a candidate's rule snapshot."""
    name = JUSTIFICATION_THRESHOLDS.get(justification, "")
    value = settings_.get(name) if name else None
    return f"{justification}:{name}={value}"[:200]


class CandidateState(models.TextChoices):
    """ServiceNow's candidate states; SAM managers know these names."""

    ATTENTION_REQUIRED = "attention_required", "Attention Required"
    READY = "ready", "Ready"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting Approval"
    AWAITING_USER = "awaiting_user", "Awaiting User"
    AWAITING_REVOCATION = "awaiting_revocation", "Awaiting Revocation"
    CLOSED_COMPLETE = "closed_complete", "Closed Complete"
    CLOSED_SKIPPED = "closed_skipped", "Closed Skipped"
    CLOSED_CANCELED = "closed_canceled", "Closed Canceled"


OPEN_STATES = (
    CandidateState.ATTENTION_REQUIRED,
    CandidateState.READY,
    CandidateState.AWAITING_APPROVAL,
    CandidateState.AWAITING_USER,
    CandidateState.AWAITING_REVOCATION,
)
CLOSED_STATES = (
    CandidateState.CLOSED_COMPLETE,
    CandidateState.CLOSED_SKIPPED,
    CandidateState.CLOSED_CANCELED,
)


class ReclamationCandidate(models.Model):
    """A seat proposed for removal.

    State changes only through ``services.transitions.transition`` (a compare-and-set UPDATE
    plus an event row), never through ``save()``: that is what makes bulk approval, double
    clicks and retried tasks act once."""

    State = CandidateState
    OPEN_STATES = OPEN_STATES
    CLOSED_STATES = CLOSED_STATES

    class Justification(models.TextChoices):
        LOW_USAGE = "low_usage", "Low usage"
        NEVER_USED = "never_used", "Never used"
        LEAVER = "leaver", "Leaver"
        STALE_INVITATION = "stale_invitation", "Stale invitation"
        MANUAL = "manual", "Proposed by hand"

    class AttentionCause(models.TextChoices):
        """Why a candidate is in Attention Required: what must be resolved for it to return
        to Ready (or, for a failed step, what "Retry" runs again)."""

        NO_USER = "no_user", "No user to notify"
        NOTIFY_FAILED = "notify_failed", "The e-mail could not be sent"
        RECLAIM_FAILED = "reclaim_failed", "The reclaim failed"

    class UserResponse(models.TextChoices):
        KEEP = "keep", "I still need it"
        RELEASE = "release", "Release it"

    # No database constraint on any of the candidate's links: Django applies SET_NULL itself
    # when the seat, person, profile or rule is deleted, and the candidate carries snapshot
    # copies of what they point to. A constraint costs identification one deferred foreign-key
    # check per new candidate, which locks the referenced row: 8 s of a 1,000,000-seat run for
    # the seat alone. A candidate whose seat row is gone counts as vanished
    # (``premises.close_vanished``).
    subscription = models.ForeignKey(
        SoftwareSubscription,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reclamation_candidates",
        db_constraint=False,
    )
    # The context links' lookups are served by the (profile|rule, state) indexes.
    profile = models.ForeignKey(
        IntegrationProfile,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reclamation_candidates",
        db_constraint=False,
        db_index=False,
    )
    rule = models.ForeignKey(
        ReclamationRule,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="candidates",
        db_constraint=False,
        db_index=False,
    )
    person = models.ForeignKey(
        Person,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reclamation_candidates",
        db_constraint=False,
        db_index=False,
    )

    # Snapshot of the seat, person, profile and rule when the candidate was raised.
    user_principal_name = models.CharField("e-mail", max_length=254)
    user_name = models.CharField("person", max_length=200, blank=True)
    department = models.CharField(max_length=120, blank=True)
    cost_center = models.CharField(max_length=60, blank=True)
    profile_name = models.CharField("profile", max_length=120, blank=True)
    provider = models.CharField(max_length=40, blank=True)
    rule_name = models.CharField("rule", max_length=120, blank=True)
    rule_snapshot = models.JSONField(default=dict, blank=True)
    seat_kind = models.CharField(
        max_length=12,
        choices=SoftwareSubscription.Kind.choices,
        default=SoftwareSubscription.Kind.MEMBER,
    )
    justification = models.CharField(max_length=20, choices=Justification.choices)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    last_activity_source = models.CharField(max_length=60, blank=True)
    last_activity_evidence = models.CharField(max_length=300, blank=True)
    potential_savings = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=0,
        help_text="Annual unit cost of the seat's software model; zero when unknown.",
    )
    currency = models.CharField(max_length=3, blank=True)
    savings_known = models.BooleanField(
        default=False, help_text="False: no entitlement gives a unit cost (shown as unknown)."
    )

    # Workflow.
    state = models.CharField(max_length=20, choices=State.choices)
    previous_state = models.CharField(max_length=20, choices=State.choices, blank=True)
    created_at = models.DateTimeField("raised at", default=timezone.now, db_index=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(
        blank=True, help_text="What the last step said: the vendor's message or what to do."
    )
    hint = models.TextField(blank=True)
    last_transition = models.UUIDField(
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text="Id of the transition that last moved this candidate. One UPDATE tags the "
        "rows it moved, so the same statement's events can be written set-based; it also "
        "serves as the nonce of the e-mail links, which die with the next transition.",
    )
    reclaim_started_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="The reclaim task's claim: set while one task talks to the vendor, so a "
        "second worker or a redelivered message cannot remove the seat twice.",
    )
    notified_at = models.DateTimeField(null=True, blank=True)
    respond_by = models.DateTimeField(null=True, blank=True)
    user_response = models.CharField(max_length=10, choices=UserResponse.choices, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    attention_cause = models.CharField(
        max_length=20,
        choices=AttentionCause.choices,
        blank=True,
        help_text="Set with Attention Required: what must be resolved.",
    )
    manager_email = models.EmailField(
        "manager asked",
        max_length=254,
        blank=True,
        help_text="The manager e-mailed to approve or decline after the user kept the seat; "
        "empty: the SAM approvers decide.",
    )
    proposed_reason = models.TextField(
        "justification given",
        blank=True,
        help_text="For a candidate proposed by hand: why the SAM manager proposed it.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [
            ("approve_reclamationcandidate", "Can approve or reject reclamation candidates"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription"],
                condition=models.Q(state__in=[str(s) for s in OPEN_STATES]),
                name="%(app_label)s_%(class)s_one_open_per_subscription",
            ),
        ]
        # Few indexes on purpose: every one is written for each of 100,000 new candidates.
        indexes = [
            models.Index(fields=["state"], name="reclaim_cand_state_idx"),
            models.Index(fields=["profile", "state"], name="reclaim_cand_profile_state_idx"),
            models.Index(fields=["rule", "state"], name="reclaim_cand_rule_state_idx"),
        ]

    def __str__(self):
        return f"{self.user_principal_name} · {self.profile_name} · {self.get_state_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def inactive_days(self) -> int | None:
        """Whole days since the recorded last activity; None when never active."""
        if self.last_activity_at is None:
            return None
        return (timezone.now() - self.last_activity_at).days


class CandidateEvent(models.Model):
    """One transition of one candidate: who, when, from, to and why. Written in the same
    transaction as the UPDATE that moved the candidate."""

    candidate = models.ForeignKey(
        ReclamationCandidate, on_delete=models.CASCADE, related_name="events"
    )
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(
        "by", max_length=150, help_text="The user's name, or which process acted."
    )
    from_state = models.CharField(max_length=20, choices=CandidateState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=CandidateState.choices)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.from_state or 'raised'} → {self.to_state} by {self.actor_label}"
