"""What the integration-profile pages show of reclamation, registered with the core's
extension registry (``sam_saas.extensions``): two list columns (open candidates, rule needs
review) and the related lists (its rule, its candidates by state)."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from sam_saas import extensions

from .models import OPEN_STATES, CandidateState, ReclamationCandidate, ReclamationRule


def _with_open_candidates(queryset):
    open_count = (
        ReclamationCandidate.objects.filter(profile=OuterRef("pk"), state__in=OPEN_STATES)
        .order_by()
        .values("profile")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return queryset.annotate(open_candidates=Coalesce(Subquery(open_count), 0))


def _with_rule_review(queryset):
    rule = ReclamationRule.objects.filter(profile=OuterRef("pk")).values("needs_review")[:1]
    return queryset.annotate(rule_needs_review=Subquery(rule))


def _rule_review_text(profile) -> str:
    flag = profile.rule_needs_review
    if flag is None:
        return "no rule yet"
    return "needs review" if flag else "reviewed"


def related_links(profile) -> list[extensions.RelatedLink]:
    links = []
    rule = ReclamationRule.objects.filter(profile=profile).first()
    if rule is None:
        links.append(
            extensions.RelatedLink(
                "Reclamation rule",
                None,
                "",
                note="created on the profile's first download, for review",
            )
        )
    else:
        note = ("needs review" if rule.needs_review else "reviewed") + (
            "" if rule.active else ", inactive"
        )
        links.append(
            extensions.RelatedLink(
                f"Reclamation rule “{rule.name}”",
                None,
                reverse("admin:reclamation_reclamationrule_change", args=[rule.pk]),
                note=note,
            )
        )
    counts = dict(
        ReclamationCandidate.objects.filter(profile=profile)
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    base = reverse("admin:reclamation_reclamationcandidate_changelist")
    links.append(
        extensions.RelatedLink(
            "Reclamation candidates",
            sum(counts.values()),
            f"{base}?profile__id__exact={profile.pk}&state__isnull=False",  # every state
        )
    )
    for state in CandidateState:
        links.append(
            extensions.RelatedLink(
                f"— {state.label}",
                counts.get(state.value, 0),
                f"{base}?profile__id__exact={profile.pk}&state__exact={state.value}",
            )
        )
    return links


def register() -> None:
    extensions.register_profile_column(
        extensions.ProfileColumn(
            key="open_candidates",
            header="open candidates",
            annotate=_with_open_candidates,
            value=lambda profile: profile.open_candidates,
            order=10,
            ordering="open_candidates",
        )
    )
    extensions.register_profile_column(
        extensions.ProfileColumn(
            key="rule_needs_review",
            header="rule",
            annotate=_with_rule_review,
            value=_rule_review_text,
            order=20,
            ordering="rule_needs_review",
        )
    )
    extensions.register_profile_links("reclamation", related_links, order=50)
