"""Stored figures: what the dashboard reads instead of counting a million seats per view.

One row per figure group (seat counts, savings, why stale seats and candidates differ) and
profile, written by the jobs that change the figures (:mod:`sam_saas.services.figures`).
``rows`` holds the group's values per software model as JSON (``[[software_model_id,
{...}], ...]``, a few dozen per profile): the dashboard's filters pick among them in Python.
JSON rather than one column per counter because apps register groups of their own
(:func:`sam_saas.extensions.register_figure_group`) without a migration in the core.
``profile`` is empty for figures of removed profiles (candidates whose profile was deleted),
written by a full refresh only.
"""

from django.db import models
from django.db.models import Q

from .profiles import IntegrationProfile


class StoredFigures(models.Model):
    group = models.CharField(max_length=50)
    profile = models.ForeignKey(
        IntegrationProfile,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="stored_figures",
    )
    # The moment the figures describe: the job's "now" (activity ages and stale seats are
    # counted as of then), shown on the dashboard as "computed at".
    computed_at = models.DateTimeField()
    rows = models.JSONField(default=list)

    class Meta:
        verbose_name = "stored figures"
        verbose_name_plural = "stored figures"
        constraints = [
            models.UniqueConstraint(
                fields=["group", "profile"],
                condition=Q(profile__isnull=False),
                name="sam_stored_figures_unique_group_profile",
            ),
            models.UniqueConstraint(
                fields=["group"],
                condition=Q(profile__isnull=True),
                name="sam_stored_figures_unique_group_removed",
            ),
        ]

    def __str__(self):
        return f"{self.group} · {self.profile_id or 'removed profiles'} · {self.computed_at}"
