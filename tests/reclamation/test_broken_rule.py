"""Finding 5 of issue 11: a rule saved with ``inactivity_days=2147483647`` (before the 1-3650
bounds, or written around the form) broke the rule preview and the global identification job
for every profile. Identification now skips that rule with a job warning."""

import pytest

from reclamation.models import ReclamationCandidate, ReclamationRule
from reclamation.services.identification import identify
from reclamation.services.preview import preview
from reclamation.services.rules import ensure_rule

from .conftest import make_profile, seat

pytestmark = pytest.mark.django_db


def test_identification_skips_a_broken_rule_with_a_warning_and_runs_the_others(fake):
    broken_profile, good_profile = make_profile(), make_profile()
    seat(broken_profile, last_activity_at=None)
    seat(good_profile, last_activity_at=None)
    broken = ensure_rule(broken_profile)
    # A row saved before the bounds existed (or written around the form).
    ReclamationRule.objects.filter(pk=broken.pk).update(inactivity_days=2147483647)
    broken.refresh_from_db()

    result = identify()

    assert ReclamationCandidate.objects.filter(profile=good_profile).count() == 1
    assert not ReclamationCandidate.objects.filter(profile=broken_profile).exists()
    assert any("was skipped" in w and broken.name in w for w in result.warnings)
    assert "between 1 and 3650" in preview(broken).message
