"""A second vendor through the core: the toy connector that docs/connectors.md shows (read
from the page itself, so the page cannot drift from what works) is registered, validated and
published, and its seats go through download, activity, identification, approval and reclaim
exactly as Calendly's do, without one line of the core knowing the vendor."""

import datetime as dt
import re
import types
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from reclamation.kinds import JobKind
from reclamation.models import ReclamationCandidate
from sam_saas.models import ConnectionAlias, IntegrationProfile, JobRun, Person
from sam_saas.models import SoftwareSubscription as Seat
from sam_saas.services import jobs, lifecycle
from tests.helpers import registered_connector

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[1] / "docs" / "connectors.md"
BLOCK = re.compile(
    r"<!-- toy-connector:start -->\s*```python\n(.*?)```\s*<!-- toy-connector:end -->", re.S
)
State = ReclamationCandidate.State


def toy_module():
    code = BLOCK.search(DOCS.read_text()).group(1)
    assert len(code.splitlines()) < 100, "the page promises a connector in under 100 lines"
    module = types.ModuleType("acmechat_connector")
    exec(compile(code, "<the toy connector of docs/connectors.md>", "exec"), module.__dict__)  # noqa: S102 - our own docs
    return module


class AcmeChatAPI:
    """Acme Chat's workspace, in memory: what the vendor's HTTP API would answer."""

    def __init__(self, error_class):
        self.error_class = error_class
        self.down = False
        now = timezone.now()

        def days(**ago):
            return now - dt.timedelta(**ago)

        self.people = {
            "m-owner": ("owner@acme.example", "owner", days(days=900)),
            "m-admin": ("it@acme.example", "admin", days(days=900)),
            "m-alice": ("alice@acme.example", "member", days(days=400)),
            "m-bob": ("bob@acme.example", "member", days(days=400)),
            "m-carol": ("carol@acme.example", "member", days(days=400)),
        }
        self.seen = {"m-owner": days(days=1), "m-admin": days(hours=2), "m-alice": days(days=3)}
        self.seen["m-bob"] = days(days=120)  # carol was never seen
        self.removed = []

    def _check(self):
        if self.down:
            raise self.error_class("503 Service Unavailable", "Acme Chat is down.", True)

    def whoami(self, token):
        self._check()
        assert token == "acme-admin-token"
        return {"id": "m-admin", "role": "admin", "workspace": "w-1", "plan": "pro",
                "workspace_name": "Acme Workspace"}  # fmt: skip

    def members(self, workspace):
        self._check()
        for member_id, (email, role, joined) in self.people.items():
            yield {"id": member_id, "email": email, "role": role, "joined": joined}

    def last_seen(self, member_id):
        self._check()
        return self.seen.get(member_id)

    def remove(self, member_id):
        self._check()
        if member_id not in self.people:
            raise self.error_class("404 Not Found", status=404)
        del self.people[member_id]
        self.removed.append(member_id)


@pytest.fixture
def acme():
    module = toy_module()
    api = AcmeChatAPI(module.AcmeError)
    with registered_connector("acmechat", module.AcmeChatConnector(api)):
        # Validated like any alias and profile: registering the connector made "acmechat" a
        # provider choice, with no change to the core and no migration.
        alias = ConnectionAlias(
            name="Acme Chat", provider="acmechat", access_token="acme-admin-token"
        )
        alias.full_clean()
        alias.save()
        profile = IntegrationProfile(
            name="Acme Chat", provider="acmechat", alias=alias, reclaim_enabled=True
        )
        profile.full_clean()
        profile.save()
        for name in ("alice", "bob", "carol"):
            Person.objects.create(email=f"{name}@acme.example", name=name.title())
        yield api, profile


def run(profile, kind):
    result = jobs.run_now(profile, kind, JobRun.Trigger.COMMAND)
    assert result.status == JobRun.Status.SUCCEEDED, (result.error_message, result.hint)
    return result


def test_a_second_vendor_goes_from_download_to_a_reclaimed_seat(
    acme, admin_client, django_capture_on_commit_callbacks
):
    api, profile = acme
    new_profile = admin_client.get(reverse("admin:sam_saas_integrationprofile_add"))
    assert '<option value="acmechat">Acme Chat</option>' in new_profile.content.decode()
    validation = lifecycle.validate(profile)  # the base's check_processes: the connection
    assert validation.passed, validation.failed_checks
    lifecycle.publish(profile)

    download = run(profile, JobRun.Kind.DOWNLOAD)
    assert (download.fetched, download.created) == (5, 5)
    seats = {s.user_principal_name.split("@")[0]: s for s in Seat.objects.filter(profile=profile)}
    model = seats["bob"].software_model  # from the core catalog
    assert (model.publisher.name, model.product, model.edition) == ("Acme", "Acme Chat", "Pro")
    assert seats["bob"].person.name == "Bob"  # the core's person matching
    assert seats["owner"].excluded_from_reclamation
    assert "owner cannot be removed" in seats["owner"].reclamation_exclusion_reason

    run(profile, JobRun.Kind.ACTIVITY)
    assert Seat.objects.get(pk=seats["alice"].pk).last_activity_source == "Acme Chat presence"

    run(None, JobKind.CANDIDATES)
    candidates = ReclamationCandidate.objects.filter(profile=profile)
    proposed = {c.subscription.user_principal_name: c for c in candidates}
    assert set(proposed) == {"bob@acme.example", "carol@acme.example"}
    bob, carol = proposed["bob@acme.example"], proposed["carol@acme.example"]

    # Bob: approved in the admin, reclaimed by the task the approval queues.
    changelist = reverse("admin:reclamation_reclamationcandidate_changelist")
    confirm = admin_client.post(changelist, {"action": "approve", "_selected_action": [bob.pk]})
    assert "Removes the user from the Acme Chat workspace" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            changelist, {"action": "approve", "_selected_action": [bob.pk], "apply": "yes"}
        )
    bob.refresh_from_db()
    assert bob.state == State.CLOSED_COMPLETE, (bob.message, bob.hint)
    assert api.removed == ["m-bob"]

    # Carol: approved while the task is not sent, then reclaimed by the core's RECLAIM job.
    with django_capture_on_commit_callbacks(execute=False):
        admin_client.post(
            changelist, {"action": "approve", "_selected_action": [carol.pk], "apply": "yes"}
        )
    assert ReclamationCandidate.objects.get(pk=carol.pk).state == State.AWAITING_REVOCATION
    run(None, JobKind.RECLAIM)
    assert ReclamationCandidate.objects.get(pk=carol.pk).state == State.CLOSED_COMPLETE
    assert api.removed == ["m-bob", "m-carol"]
    assert Seat.objects.get(pk=seats["carol"].pk).status == Seat.Status.RECLAIMED

    # The next download sees both gone and keeps the reclaimed seats' history.
    again = run(profile, JobRun.Kind.DOWNLOAD)
    assert again.fetched == 3
    assert Seat.objects.holding_seats().filter(profile=profile).count() == 3


def test_a_vendor_outage_fails_the_run_with_the_vendors_hint_and_changes_nothing(acme):
    api, profile = acme
    run(profile, JobRun.Kind.DOWNLOAD)
    before = list(Seat.objects.order_by("pk").values_list("pk", "status", "last_seen_at"))

    api.down = True
    failed = jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)

    # The toy raises its own AcmeError; BaseConnector turned it into a ConnectorError.
    assert failed.status == JobRun.Status.FAILED
    assert (failed.error_class, failed.error_message) == (
        "ConnectorError",
        "503 Service Unavailable",
    )
    assert failed.hint == "Acme Chat is down."
    assert list(Seat.objects.order_by("pk").values_list("pk", "status", "last_seen_at")) == before
