"""The profile page's related lists, as ServiceNow has them: links with counts to what
belongs to the profile. The core lists its own; apps add theirs through
``sam_saas.extensions.register_profile_links`` (reclamation: its rule, candidates by state)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .. import extensions
from ..models import (
    JobRun,
    SoftwareModel,
    SoftwareSubscription,
    SubscriptionIdentifier,
    SubscriptionIdentifierExclusionRule,
    SubscriptionUserExclusionRule,
)

Link = extensions.RelatedLink


def _changelist(name: str, query: str) -> str:
    return f"{reverse(f'admin:sam_saas_{name}_changelist')}?{query}"


def core_links(profile) -> list[Link]:
    pk = profile.pk
    seats = SoftwareSubscription.objects.filter(profile=profile)
    identifiers = SubscriptionIdentifier.objects.filter(subscriptions__profile=profile).distinct()
    rules = SubscriptionIdentifierExclusionRule.objects
    everywhere = rules.filter(profile__isnull=True).count()
    return [
        Link(
            "Software models",
            SoftwareModel.objects.filter(subscriptions__profile=profile).distinct().count(),
            _changelist("softwaremodel", f"subscriptions__profile__id__exact={pk}"),
        ),
        Link(
            "Software subscriptions",
            seats.count(),
            _changelist("softwaresubscription", f"profile__id__exact={pk}"),
            note=f"{seats.holding_seats().count()} holding a seat",
        ),
        Link(
            "Subscriptions without user",
            seats.filter(person__isnull=True).count(),
            _changelist("softwaresubscription", f"profile__id__exact={pk}&has_user=no"),
        ),
        Link(
            "Unrecognized subscription identifiers",
            identifiers.filter(software_model__isnull=True).count(),
            _changelist(
                "subscriptionidentifier",
                f"subscriptions__profile__id__exact={pk}&recognized=no",
            ),
        ),
        Link(
            "Subscription identifier exclusion rules",
            rules.filter(profile=profile).count(),
            _changelist("subscriptionidentifierexclusionrule", f"profile__id__exact={pk}"),
            note=f"plus {everywhere} for every profile",
        ),
        Link(
            "Subscription user exclusion rules",
            SubscriptionUserExclusionRule.objects.in_force().count(),
            _changelist("subscriptionuserexclusionrule", "active__exact=1"),
            note="in force; they apply to every profile",
        ),
        Link(
            "Job results",
            JobRun.objects.filter(profile=profile).count(),
            _changelist("jobrun", f"profile__id__exact={pk}"),
        ),
    ]


def all_links(profile) -> list[Link]:
    links = core_links(profile)
    # Core first (models, subscriptions, identifiers, rules), then the apps', job results last.
    job_results = links.pop()
    for contribution in extensions.registry.profile_links:
        links.extend(contribution.build(profile))
    links.append(job_results)
    return links


def render(profile):
    def item(link: Link):
        count = "" if link.count is None else f" ({link.count})"
        note = f" — {link.note}" if link.note else ""
        if link.url:
            return format_html(
                '<li><a href="{}">{}</a>{}{}</li>', link.url, link.label, count, note
            )
        return format_html("<li>{}{}{}</li>", link.label, count, note)

    return format_html(
        '<ul id="related-lists">{}</ul>',
        format_html_join("", "{}", ((item(link),) for link in all_links(profile))),
    )
