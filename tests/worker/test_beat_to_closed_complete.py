"""The whole chain on a real worker and a real beat: beat's dispatcher queues a due profile;
the worker downloads its seats, then pulls activity; beat's daily entry identifies candidates;
a SAM manager approves one in the admin; the worker's reclaim task removes the seat at the
(fake) vendor and the candidate ends Closed Complete."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from reclamation.kinds import JobKind
from reclamation.models import ReclamationCandidate
from sam_saas.models import JobRun, SoftwareSubscription

from .conftest import WORKER_MARKS, finished, make_due, running_beat, runs, wait_for

pytestmark = WORKER_MARKS

State = ReclamationCandidate.State


def manager_client() -> Client:
    user = get_user_model().objects.create_user("manager", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="SAM manager"))
    client = Client()
    client.force_login(user)
    return client


def test_beat_and_the_worker_take_a_profile_from_refresh_to_closed_complete(
    celery_worker, sandbox, make_profile
):
    org = sandbox.state.default_org
    profile = make_profile(reclaim_enabled=True, activity_enabled=True)
    make_due(profile)

    # 1. Beat's dispatcher (every 0.5 s here, every 15 minutes in production) queues the
    #    refresh once; the download queues the activity pull.
    with running_beat("dispatch-due-refreshes"):
        wait_for(lambda: finished(profile, JobRun.Kind.ACTIVITY), timeout=60, what="activity")
    download, activity = runs(profile).get(), runs(profile, JobRun.Kind.ACTIVITY).get()
    assert download.status == activity.status == JobRun.Status.SUCCEEDED, (
        download.error_message,
        activity.error_message,
    )
    assert download.trigger == activity.trigger == JobRun.Trigger.SCHEDULE
    assert download.finished_at <= activity.started_at  # activity ran on the fresh seats
    held = SoftwareSubscription.objects.filter(profile=profile, status__in=["active", "pending"])
    assert held.count() == len(org.members) + sum(
        1 for i in org.invitations.values() if i.status == "pending"
    )
    assert held.filter(last_activity_at__isnull=False).exists()
    profile.refresh_from_db()
    assert profile.next_refresh_at > download.queued_at  # advanced: the next tick skips it

    # 2. The refresh chained the profile's own identification after the activity pull; beat's
    #    daily "identify reclamation candidates" entry then sweeps the workflow deadlines.
    wait_for(
        lambda: finished(profile, JobKind.PROFILE_CANDIDATES), timeout=60, what="identification"
    )
    with running_beat("identify-reclamation-candidates"):
        wait_for(
            lambda: JobRun.objects.filter(
                kind=JobKind.CANDIDATES, status=JobRun.Status.SUCCEEDED
            ).exists(),
            timeout=60,
            what="candidate identification",
        )
    wait_for(lambda: not JobRun.objects.filter(status__in=JobRun.OPEN_STATUSES).exists())
    candidate = (
        ReclamationCandidate.objects.filter(
            profile=profile,
            seat_kind="member",
            state=State.AWAITING_APPROVAL,
            subscription__role="user",
        )
        .select_related("subscription")
        .order_by("pk")
        .first()
    )
    assert candidate is not None, list(ReclamationCandidate.objects.values("state", "seat_kind"))
    membership_uri = candidate.subscription.external_seat_id
    assert any(m.uri == membership_uri for m in org.members)

    # 3. A SAM manager approves it in the admin: confirmation page, then apply.
    client = manager_client()
    changelist = reverse("admin:reclamation_reclamationcandidate_changelist")
    selected = {"action": "approve", "_selected_action": [candidate.pk]}
    confirm = client.post(changelist, selected)
    assert confirm.status_code == 200 and "What will happen" in confirm.content.decode()
    assert client.post(changelist, {**selected, "apply": "yes"}).status_code == 302

    # 4. The worker's reclaim task removes the seat: Closed Complete.
    wait_for(
        lambda: ReclamationCandidate.objects.get(pk=candidate.pk).state == State.CLOSED_COMPLETE,
        timeout=60,
        what="the reclaim task to close the candidate",
    )
    candidate.refresh_from_db()
    assert not any(m.uri == membership_uri for m in org.members)
    assert SoftwareSubscription.objects.get(pk=candidate.subscription_id).status == "reclaimed"
    trail = list(candidate.events.order_by("at", "pk").values_list("from_state", "to_state"))
    assert trail[-2:] == [
        (State.AWAITING_APPROVAL, State.AWAITING_REVOCATION),
        (State.AWAITING_REVOCATION, State.CLOSED_COMPLETE),
    ]
    deletes = [p for (m, p, s) in sandbox.state.request_log if m == "DELETE"]
    assert len(deletes) == 1 and deletes[0].endswith(membership_uri.rsplit("/", 1)[-1])

    # Beat ticked many times; each job ran once.
    assert runs(profile).count() == runs(profile, JobRun.Kind.ACTIVITY).count() == 1
