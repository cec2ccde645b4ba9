"""Rules apply at once: saving, changing, deactivating or deleting an exclusion rule or a
resolution rule, and a people import, re-judge the stored seats with no download, close the
open candidates whose premise broke, and say how many changed. Real HTTP to the fake Calendly
for the seats, real database."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from reclamation.kinds import JobKind
from reclamation.models import ReclamationCandidate
from sam_saas.models import (
    JobRun,
    Person,
    SoftwareSubscription,
    SubscriptionUserExclusionRule,
    UserResolutionRule,
)
from sam_saas.services import jobs

pytestmark = pytest.mark.django_db

State = ReclamationCandidate.State
J = ReclamationCandidate.Justification
USER_RULES = "admin:sam_saas_subscriptionuserexclusionrule"


def run(profile, kind):
    result = jobs.run_now(profile, kind, JobRun.Trigger.COMMAND)
    assert result.status == JobRun.Status.SUCCEEDED, (result.error_message, result.hint)
    return result


@pytest.fixture
def connected(sandbox, make_pat_profile):
    org = sandbox.state.add_organization(name="Rules Inc", members=30, plan="enterprise", seed=9)
    for member in org.members:
        Person.objects.create(email=member.user.email, name=member.user.name, department="Sales")
    profile = make_pat_profile(name="Rules", token=org.admin_token)
    profile.analyze_activity_from = timezone.localdate() - dt.timedelta(days=365)
    profile.save()
    run(profile, JobRun.Kind.DOWNLOAD)
    run(profile, JobRun.Kind.ACTIVITY)
    run(None, JobKind.CANDIDATES)
    return sandbox, org, profile


def open_candidates(**filters):
    return ReclamationCandidate.objects.filter(
        state__in=ReclamationCandidate.OPEN_STATES, **filters
    )


def a_member_candidate(profile):
    return (
        open_candidates(profile=profile, seat_kind="member")
        .exclude(justification=J.LEAVER)
        .select_related("subscription")
        .order_by("pk")
        .first()
    )


def messages_of(response):
    return [str(m) for m in response.context["messages"]]


def user_rule_form(**values):
    return {
        "email_pattern": "",
        "department": "",
        "cost_center": "",
        "role": "",
        "exclude_from_cost": "on",
        "exclude_from_reclamation": "on",
        "reason": "Board members keep their seats",
        "active": "on",
        "valid_until_0": "",
        "valid_until_1": "",
        **values,
    }


def test_an_exclusion_rule_saved_in_the_admin_flags_the_seat_and_closes_its_candidate(
    connected, admin_client
):
    sandbox, _org, profile = connected
    target = a_member_candidate(profile)
    seat = target.subscription
    calls_before = len(sandbox.state.request_log)
    downloads_before = JobRun.objects.filter(kind=JobRun.Kind.DOWNLOAD).count()

    response = admin_client.post(
        reverse(f"{USER_RULES}_add"),
        user_rule_form(email_pattern=seat.user_principal_name.upper()),
        follow=True,
    )
    assert response.status_code == 200
    text = " ".join(messages_of(response))
    assert "Rules applied at once:" in text
    assert "1 changed; 1 open candidate(s) closed." in text

    seat.refresh_from_db()
    assert seat.excluded_from_reclamation and seat.excluded_from_cost
    assert "Board members keep their seats" in seat.reclamation_exclusion_reason
    target.refresh_from_db()
    assert target.state == State.CLOSED_SKIPPED
    assert target.events.last().actor_label == "rule change"
    # Nothing was asked of Calendly and no download ran.
    assert len(sandbox.state.request_log) == calls_before
    assert JobRun.objects.filter(kind=JobRun.Kind.DOWNLOAD).count() == downloads_before

    # Deactivating the rule hands the seat back; identification may raise it again.
    rule = SubscriptionUserExclusionRule.objects.get()
    response = admin_client.post(
        reverse(f"{USER_RULES}_change", args=[rule.pk]),
        user_rule_form(email_pattern=rule.email_pattern, active=""),
        follow=True,
    )
    assert "1 changed" in " ".join(messages_of(response))
    seat.refresh_from_db()
    assert not seat.excluded_from_reclamation and not seat.excluded_from_cost

    # Deleting a rule re-judges too.
    rule.active = True
    rule.save()
    admin_client.post(
        reverse(f"{USER_RULES}_change", args=[rule.pk]),
        user_rule_form(email_pattern=rule.email_pattern),
    )
    seat.refresh_from_db()
    assert seat.excluded_from_reclamation
    response = admin_client.post(
        reverse(f"{USER_RULES}_delete", args=[rule.pk]), {"post": "yes"}, follow=True
    )
    assert "1 changed" in " ".join(messages_of(response))
    seat.refresh_from_db()
    assert not seat.excluded_from_reclamation


def test_the_exclusion_rule_form_says_how_many_seats_it_matches_now(connected, admin_client):
    _sandbox, _org, profile = connected
    held = SoftwareSubscription.objects.holding_seats().filter(profile=profile)
    admins = held.filter(role__iexact="admin").count()
    assert admins
    page = admin_client.post(
        reverse(f"{USER_RULES}_add"), user_rule_form(role="ADMIN", _count_matches="1")
    ).content.decode()
    expected = f"matches {admins} seat{'s' if admins != 1 else ''} now"
    assert expected in page
    assert not SubscriptionUserExclusionRule.objects.exists()  # counting saved nothing

    rule = SubscriptionUserExclusionRule.objects.create(
        email_pattern="*@*", reason="everyone", exclude_from_reclamation=True
    )
    page = admin_client.get(reverse(f"{USER_RULES}_change", args=[rule.pk])).content.decode()
    assert f"matches {held.count()} seats now" in page


def test_a_resolution_rule_takes_effect_at_once(connected, admin_client):
    sandbox, org, profile = connected
    # A seat whose e-mail matches nobody: the directory knows her by another address.
    member = sandbox.state.add_member(org, "ana.alias@elsewhere.example", name="Ana")
    run(profile, JobRun.Kind.DOWNLOAD)
    seat = SoftwareSubscription.objects.get(profile=profile, user_principal_name=member.user.email)
    assert seat.person is None
    ana = Person.objects.create(email="ana@corp.example", name="Ana", department="Board")
    SubscriptionUserExclusionRule.objects.create(
        department="Board", reason="Board", exclude_from_reclamation=True
    )
    calls_before = len(sandbox.state.request_log)

    response = admin_client.post(
        reverse("admin:sam_saas_userresolutionrule_add"),
        {
            "name": "Ana's alias",
            "transform": UserResolutionRule.Transform.ALIAS,
            "alias_email": member.user.email,
            "person": ana.pk,
            "priority": 100,
            "active": "on",
            "match_domain": "",
            "new_domain": "",
        },
        follow=True,
    )
    assert "Rules applied at once:" in " ".join(messages_of(response))
    seat.refresh_from_db()
    assert seat.person == ana
    assert seat.excluded_from_reclamation  # judged on her department at once
    assert len(sandbox.state.request_log) == calls_before


def test_a_people_import_takes_effect_at_once(connected, admin_client):
    sandbox, _org, profile = connected
    target = a_member_candidate(profile)
    # A seat with no open candidate yet, so the leaver candidate is the one this test raises
    # (a seat already proposed as "never used" keeps that candidate).
    leaver_seat = (
        SoftwareSubscription.objects.filter(profile=profile, role="user", person__isnull=False)
        .exclude(pk=target.subscription_id)
        .exclude(reclamation_candidates__state__in=ReclamationCandidate.OPEN_STATES)
        .order_by("pk")
        .first()
    )
    assert leaver_seat is not None
    Person.objects.filter(pk=leaver_seat.person_id).update(active=False)
    run(None, JobKind.CANDIDATES)
    leaver = open_candidates(subscription=leaver_seat).get()
    assert leaver.justification == J.LEAVER
    SubscriptionUserExclusionRule.objects.create(
        department="Board", reason="Board", exclude_from_reclamation=True
    )
    calls_before = len(sandbox.state.request_log)

    moved = target.subscription.person.email
    back = leaver_seat.person.email
    csv = f"email,department,active\n{moved},Board,true\n{back},Sales,true\n".encode()
    response = admin_client.post(
        reverse("admin:sam_saas_person_import"),
        {"file": SimpleUploadedFile("people.csv", csv, "text/csv")},
        follow=True,
    )
    text = " ".join(messages_of(response))
    assert "People import: created 0, updated 2" in text
    assert "2 open candidate(s) closed." in text
    target.refresh_from_db()
    leaver.refresh_from_db()
    assert target.state == State.CLOSED_SKIPPED  # now a Board member: excluded
    assert leaver.state == State.CLOSED_SKIPPED  # active in the directory again
    assert "no longer a leaver" in leaver.events.last().note
    assert len(sandbox.state.request_log) == calls_before


def test_a_large_change_runs_as_a_job(connected, admin_client, settings):
    _sandbox, _org, profile = connected
    settings.SAM_SETTINGS = {**settings.SAM_SETTINGS, "RULES_INLINE_MAX_SEATS": 3}
    target = a_member_candidate(profile)
    response = admin_client.post(
        reverse(f"{USER_RULES}_add"),
        user_rule_form(email_pattern=target.user_principal_name),
        follow=True,
    )
    text = " ".join(messages_of(response))
    assert "more than 3, so an “Apply rules” job does it on a worker" in text
    queued = JobRun.objects.get(kind=JobRun.Kind.APPLY_RULES)
    # The test settings run tasks eagerly: the job already ran, after the commit.
    queued.refresh_from_db()
    if queued.status == JobRun.Status.QUEUED:
        jobs.execute(queued.pk)
        queued.refresh_from_db()
    assert queued.status == JobRun.Status.SUCCEEDED, queued.error_message
    assert queued.updated == 1 and queued.removed == 1
    assert queued.fetched == SoftwareSubscription.objects.holding_seats().count()
    assert queued.progress_message.endswith("1 changed; 1 open candidate(s) closed.")
    target.refresh_from_db()
    assert target.state == State.CLOSED_SKIPPED
