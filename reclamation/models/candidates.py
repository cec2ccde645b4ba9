"""The reclamation candidate: a seat proposed for removal, its ServiceNow states, and the
snapshot of what it was raised on.

A candidate keeps a snapshot of what it was raised on (the seat's e-mail, person, profile,
rule settings, last activity) because the subscription, profile and rule it points to may be
deleted later: closed candidates are the record of what was reclaimed and why.
"""

from django.db import models
from django.utils import timezone

from sam_saas.models import IntegrationProfile, Person, SoftwareSubscription

from .rules import ReclamationRule


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
    # Indexed by ``reclaim_cand_created_idx`` (created_at, id), which serves every created_at
    # lookup too: a single-column index beside it would only cost each insert a write.
    created_at = models.DateTimeField("raised at", default=timezone.now)
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
            # The default order, both keys: identification raises thousands of candidates in
            # one statement (one created_at), which the created_at index alone leaves to sort.
            models.Index(fields=["created_at", "id"], name="reclaim_cand_created_idx"),
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
