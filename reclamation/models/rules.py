"""The reclamation rule: which stale seats of one profile become candidates, and the settings
each candidate keeps a snapshot of (so a later edit changes neither why it was raised nor what
approving it does)."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from sam_saas.models import IntegrationProfile

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
