"""The event trail: one row per transition of a candidate, written set-based by the same
statement that moved it (``services.transitions``)."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .candidates import CandidateState, ReclamationCandidate


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
