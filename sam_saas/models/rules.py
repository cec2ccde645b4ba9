"""Rules that shape subscriptions: user resolution and the two kinds of exclusion.

Exclusion rules here match wildcards and directory attributes, not just exact values (a gap
SAM teams complain about in ServiceNow). ``sam_saas.services.rules`` applies them."""

import fnmatch
import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .people import Person
from .profiles import IntegrationProfile


class ActiveRuleQuerySet(models.QuerySet):
    def in_force(self, now=None):
        """Active rules whose ``valid_until`` has not passed."""
        now = now or timezone.now()
        return self.filter(active=True).filter(
            models.Q(valid_until__isnull=True) | models.Q(valid_until__gt=now)
        )


def wildcard_match(pattern: str, value: str) -> bool:
    """Case-insensitive shell-style match: ``*`` any run, ``?`` one character."""
    return fnmatch.fnmatchcase((value or "").lower(), (pattern or "").lower())


def wildcard_regex(pattern: str) -> str:
    """The case-insensitive regular expression equal to :func:`wildcard_match`'s shell-style
    pattern (``*``, ``?``, ``[abc]``, ``[!abc]``), anchored, for ``__iregex`` in SQL: the one
    translation used by the set-based re-judging and by the "matches N seats" count."""
    out, i, n = ["^"], 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = pattern.find("]", i + 1 if i < n and pattern[i] in "!]" else i)
            if j == -1:
                out.append(r"\[")
                continue
            body = pattern[i:j]
            i = j + 1
            negate = body.startswith("!")
            body = body[1:] if negate else body
            body = body.replace("\\", r"\\").replace("^", r"\^")
            out.append(f"[{'^' if negate else ''}{body}]")
        else:
            out.append(re.escape(c))
    out.append("$")
    return "".join(out)


class UserResolutionRule(models.Model):
    """Matches a seat's e-mail to a person when the plain e-mail match fails.

    Remove domain: ``ana@old.example`` matches the one person whose e-mail local part is
    ``ana``. Replace domain: swaps the domain for ``new_domain`` (optionally only for
    ``match_domain``). Alias: the fixed e-mail ``alias_email`` belongs to ``person``."""

    class Transform(models.TextChoices):
        NONE = "none", "None (exact e-mail)"
        REMOVE_DOMAIN = "remove_domain", "Remove domain"
        REPLACE_DOMAIN = "replace_domain", "Replace domain"
        ALIAS = "alias", "Exact alias"

    name = models.CharField(max_length=120)
    profiles = models.ManyToManyField(
        IntegrationProfile,
        blank=True,
        related_name="resolution_rules",
        help_text="Empty: applies to every profile.",
    )
    transform = models.CharField(max_length=20, choices=Transform.choices)
    match_domain = models.CharField(
        max_length=200, blank=True, help_text="Replace domain: only e-mails in this domain."
    )
    new_domain = models.CharField(max_length=200, blank=True)
    alias_email = models.CharField(max_length=254, blank=True)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="alias_rules"
    )
    priority = models.PositiveIntegerField(default=100, help_text="Lower runs first.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["priority", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(transform="replace_domain") | ~models.Q(new_domain=""),
                name="%(app_label)s_%(class)s_replace_needs_domain",
            ),
            models.CheckConstraint(
                condition=~models.Q(transform="alias")
                | (~models.Q(alias_email="") & models.Q(person__isnull=False)),
                name="%(app_label)s_%(class)s_alias_needs_person",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.transform == self.Transform.REPLACE_DOMAIN and not self.new_domain:
            raise ValidationError({"new_domain": "Replace domain needs the new domain."})
        if self.transform == self.Transform.ALIAS and not (self.alias_email and self.person_id):
            raise ValidationError("An alias rule needs the alias e-mail and the person.")
        self.new_domain = self.new_domain.strip().lstrip("@").lower()
        self.match_domain = self.match_domain.strip().lstrip("@").lower()
        self.alias_email = self.alias_email.strip()


class SubscriptionIdentifierExclusionRule(models.Model):
    """Keeps subscriptions carrying an identifier out of licence cost calculations.

    ``pattern`` is an identifier or a wildcard (``calendly-*``)."""

    pattern = models.CharField(
        max_length=200, help_text="Identifier, or a wildcard like calendly-*"
    )
    profile = models.ForeignKey(
        IntegrationProfile,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="identifier_exclusion_rules",
        help_text="Empty: every profile.",
    )
    reason = models.CharField(max_length=300)
    active = models.BooleanField(default=True)
    valid_until = models.DateTimeField(null=True, blank=True, help_text="After it the rule stops.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ActiveRuleQuerySet.as_manager()

    class Meta:
        ordering = ["pattern"]

    def __str__(self):
        return self.pattern

    def matches(self, identifier_value: str, profile_id: int) -> bool:
        if self.profile_id and self.profile_id != profile_id:
            return False
        return wildcard_match(self.pattern, identifier_value)


class SubscriptionUserExclusionRule(models.Model):
    """Keeps users out of cost calculations and/or reclamation, across all profiles.

    Criteria (all given ones must match): an e-mail or wildcard (``*@contractors.example``),
    a department, a cost center, a vendor role. Goes beyond ServiceNow's exact e-mail match."""

    email_pattern = models.CharField(max_length=254, blank=True)
    department = models.CharField(max_length=120, blank=True)
    cost_center = models.CharField(max_length=60, blank=True)
    role = models.CharField(
        max_length=40, blank=True, help_text="Vendor role, e.g. owner or admin."
    )
    # Both by default: keeping a seat out of licence cost is what an exclusion is for (as in
    # ServiceNow), and a seat kept out of cost must not be reclaimed for a saving it lacks.
    exclude_from_cost = models.BooleanField(
        default=True, help_text="Its seats count in no licence cost, position or saving."
    )
    exclude_from_reclamation = models.BooleanField(
        default=True, help_text="Its seats are never proposed for reclamation."
    )
    reason = models.CharField(max_length=300)
    active = models.BooleanField(default=True)
    valid_until = models.DateTimeField(null=True, blank=True, help_text="After it the rule stops.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ActiveRuleQuerySet.as_manager()

    class Meta:
        ordering = ["email_pattern", "department", "cost_center", "role"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(email_pattern="", department="", cost_center="", role=""),
                name="%(app_label)s_%(class)s_has_criterion",
            ),
            models.CheckConstraint(
                condition=models.Q(exclude_from_cost=True)
                | models.Q(exclude_from_reclamation=True),
                name="%(app_label)s_%(class)s_excludes_something",
            ),
        ]

    def __str__(self):
        criteria = [
            c
            for c in (
                self.email_pattern,
                self.department,
                self.cost_center,
                self.role and f"role={self.role}",
            )
            if c
        ]
        return " & ".join(criteria) or "(no criterion)"

    def clean(self):
        super().clean()
        if not any((self.email_pattern, self.department, self.cost_center, self.role)):
            raise ValidationError(
                "Give at least one criterion: e-mail, department, cost center or role."
            )
        if not (self.exclude_from_cost or self.exclude_from_reclamation):
            raise ValidationError(
                "Tick at least one of: exclude from cost, exclude from reclamation."
            )

    def matches(self, email: str, department: str, cost_center: str, role: str) -> bool:
        if self.email_pattern and not wildcard_match(self.email_pattern, email):
            return False
        if self.department and self.department.lower() != (department or "").lower():
            return False
        if self.cost_center and self.cost_center.lower() != (cost_center or "").lower():
            return False
        return not (self.role and self.role.lower() != (role or "").lower())
