"""The company directory that seats are matched against."""

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Person(models.Model):
    """One person in the company directory, imported from HR (``import_people``).

    E-mail is unique case-insensitively because vendors hand back e-mails in whatever case the
    user typed them. An inactive person is a leaver."""

    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    department = models.CharField(max_length=120, blank=True, db_index=True)
    cost_center = models.CharField(max_length=60, blank=True, db_index=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    active = models.BooleanField(default=True, help_text="Inactive people are leavers.")
    missing_since = models.DateTimeField(
        "deactivated as missing from an import at",
        null=True,
        blank=True,
        editable=False,
        help_text="Set when “Deactivate people missing from the file” deactivated this person; "
        "a later import that contains them reactivates them.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "email"]
        verbose_name_plural = "people"
        constraints = [
            models.UniqueConstraint(Lower("email"), name="%(app_label)s_%(class)s_unique_email_ci"),
        ]
        indexes = [
            # The people list's default order, and its e-mail column's: without them a page
            # of the list sorted half a million people (500 ms).
            models.Index(fields=["name", "email"], name="sam_person_name_email_idx"),
            models.Index(fields=["email"], name="sam_person_email_idx"),
        ]

    def __str__(self):
        return f"{self.name} <{self.email}>" if self.name else self.email
