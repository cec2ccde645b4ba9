"""Finding 5 of issue 11: numbers without bounds gave 500s.

``/reports/subscriptions.csv?inactive_days_min=999999999`` (and ``export_report`` printed a
traceback), ``profile=99999999999999999999999`` on SQLite, and a rule saved with
``inactivity_days=2147483647`` that then broke the rule preview and the global identification
job for every profile. (The admin's ``queued_at__year=99999999999`` is in
test_changelist_lookups.py, the identification job in
tests/reclamation/test_broken_rule.py.)"""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from reclamation.services.rules import ensure_rule
from tests import factories
from tests.security.conftest import client_for

pytestmark = pytest.mark.django_db

REPORT = "/reports/subscriptions.csv"


@pytest.mark.parametrize(
    "params, reason",
    [
        ({"inactive_days_min": "999999999"}, "less than or equal to 36500"),
        ({"profile": "99999999999999999999999"}, "is not a valid value"),
        ({"inactive_days_min": "-1"}, "greater than or equal to 0"),
    ],
)
def test_reports_answer_400_with_the_reason(params, reason):
    factories.SoftwareSubscriptionFactory()
    response = client_for("SAM viewer").get(REPORT, params)
    assert response.status_code == 400
    assert reason in response.content.decode()


def test_export_report_prints_a_clear_error_not_a_traceback():
    with pytest.raises(CommandError, match="inactive_days_min"):
        call_command("export_report", "subscriptions", "inactive_days_min=999999999")
    with pytest.raises(CommandError, match="profile"):
        call_command("export_report", "subscriptions", "profile=99999999999999999999999")


def test_a_rule_cannot_be_saved_with_days_outside_1_to_3650(admin_client):
    rule = ensure_rule(factories.IntegrationProfileFactory())
    url = reverse("admin:reclamation_reclamationrule_change", args=[rule.pk])
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {
        name: ("on" if value is True else "" if value in (None, False) else value)
        for name, value in form.initial.items()
        if name in form.fields
    }
    data = {k: v for k, v in data.items() if v != ""}
    for field, value in (("inactivity_days", 2147483647), ("days_before_reclaim", 0)):
        response = admin_client.post(url, {**data, field: value})
        assert response.status_code == 200, field  # the form again, with the error
        assert "Ensure this value is" in response.content.decode()
    rule.refresh_from_db()
    assert rule.inactivity_days == 60 and rule.days_before_reclaim == 7
