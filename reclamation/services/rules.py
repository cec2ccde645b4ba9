"""Auto-creating the reclamation rule of a profile."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from sam_saas.models import IntegrationProfile

from ..models import ReclamationRule


def ensure_rule(profile: IntegrationProfile) -> ReclamationRule:
    """The profile's rule, created with the defaults (named after the profile, active, listed
    for review) when it has none. Called by the download on a profile's first run and by
    candidate identification for published profiles still lacking one.

    Safe to call concurrently: the one-to-one column is unique, so a second creator gets an
    IntegrityError and reads the winner's rule instead."""
    existing = ReclamationRule.objects.filter(profile=profile).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return ReclamationRule.objects.create(profile=profile, name=profile.name[:120])
    except IntegrityError:
        return ReclamationRule.objects.get(profile=profile)


def ensure_rules_for_published_profiles(profiles=None) -> int:
    """Create the missing rules of published profiles (of ``profiles`` when given). Returns
    how many profiles lacked one."""
    missing = IntegrationProfile.objects.filter(
        status=IntegrationProfile.Status.PUBLISHED, reclamation_rule__isnull=True
    )
    if profiles is not None:
        missing = missing.filter(pk__in=[p.pk for p in profiles])
    missing = list(missing)
    for profile in missing:
        ensure_rule(profile)
    return len(missing)
