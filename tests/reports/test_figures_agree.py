"""One definition for each figure, checked on the demo data as ``make run`` builds it: a
seeded fake Calendly (250 members, invitations, a year of activity), the demo directory, the
first download, activity pull, identification and reconciliation. Real HTTP, real database.

After the identification, the dashboard's stale seats, the rule preview's stale count at the
rule's threshold and the open low-usage and never-used candidates are the same seats, except
for the differences the page names, each with its count."""

import html
import io
import re

import pytest
from django.urls import reverse

from calendly_integration.sandbox import start_sandbox
from calendly_integration.sandbox.demo import set_up
from reclamation.figures import STALE_KINDS
from reclamation.models import OPEN_STATES, ReclamationCandidate
from reclamation.services.preview import preview
from sam_saas.models import LicencePositionSnapshot, SoftwareSubscription
from sam_saas.services import positions

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    with start_sandbox(members=250, plan="enterprise", seed=1, rate_limit=0) as sandbox:
        yield set_up(sandbox.url, sandbox.state.default_org.admin_token, io.StringIO())


def _tile(page: str, key: str) -> str:
    match = re.search(rf'<li id="tile-{key}">(.*?)</li>', page, re.S)
    assert match, f"no tile {key}"
    return html.unescape(re.sub(r"\s+", " ", match.group(1)))


def test_the_dashboard_the_rule_preview_and_the_candidates_agree_on_the_demo(demo, admin_client):
    rule = demo.reclamation_rule
    stale = positions.compute().stale
    at_threshold = next(row for row in preview(rule).rows if row.is_rule_threshold)
    open_matching = ReclamationCandidate.objects.filter(
        profile=demo, state__in=OPEN_STATES, justification__in=STALE_KINDS
    ).count()
    comparison = preview(rule).comparison

    assert stale > 50  # the demo has plenty of stale seats
    # The preview flags exactly the open candidates of the matching kinds, none of them new.
    assert at_threshold.stale == open_matching
    assert comparison.open_matching == open_matching
    # Every stale seat is such a candidate or is listed with the reason it is not.
    listed = sum(n for n, _ in comparison.seats_not_candidates)
    assert stale == comparison.stale == comparison.matching + listed
    assert open_matching == comparison.matching + sum(n for n, _ in comparison.candidates_not_stale)
    # The same stale seats, counted by the queryset the admin list links to.
    assert stale == SoftwareSubscription.objects.counted().stale().count()

    page = admin_client.get(reverse("sam_dashboard")).content.decode()
    tile = _tile(page, "stale")
    assert f'class="value">{stale}</div>' in tile
    assert comparison.text() in tile
    for count, why in comparison.seats_not_candidates:
        assert f"{count} {why}" in tile
    rule_page = admin_client.get(
        reverse("admin:reclamation_reclamationrule_change", args=[rule.pk])
    ).content.decode()
    assert html.unescape(comparison.text()) in html.unescape(rule_page)

    # The reconciliation snapshot stores the same figure.
    snapshot_stale = sum(
        LicencePositionSnapshot.objects.filter(profile=demo).values_list("stale", flat=True)
    )
    assert snapshot_stale == stale
