"""Finding 3 of issue 11: one odd vendor record must not fail a whole download.

On PostgreSQL a member name of 300 characters (the column holds 200) or one holding a NUL byte
failed the entire download and nothing was stored. Over real HTTP to the fake Calendly, seeded
with exactly those records."""

import pytest

from sam_saas.models import JobRun, SoftwareSubscription
from sam_saas.services import jobs
from sam_saas.services.vendor_text import ELLIPSIS

pytestmark = pytest.mark.django_db


def download(profile):
    return jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)


@pytest.mark.postgres
def test_a_300_character_name_and_a_nul_byte_are_cleaned_not_fatal(sandbox, make_pat_profile):
    org = sandbox.state.default_org
    long_name = sandbox.state.add_member(org, email="long@acme-demo.example", name="L" * 300)
    nul_name = sandbox.state.add_member(
        org, email="nul@acme-demo.example", name="Nul\x00 Byte\x07\nPerson"
    )
    org.name = "Acme\x00 Demo"
    profile = make_pat_profile()

    run = download(profile)

    assert run.status == JobRun.Status.SUCCEEDED, run.error_message
    seats = SoftwareSubscription.objects.filter(profile=profile)
    assert (
        seats.count()
        == run.fetched
        == len(org.members) + sum(1 for i in org.invitations.values() if i.status == "pending")
    )
    stored_long = seats.get(external_seat_id=long_name.uri)
    assert len(stored_long.user_name) == 200
    assert stored_long.user_name == "L" * 199 + ELLIPSIS
    assert seats.get(external_seat_id=nul_name.uri).user_name == "Nul Byte Person"
    profile.refresh_from_db()
    assert profile.organization_name == "Acme Demo"
    warning = " ".join(run.warnings)
    assert "2 vendor value(s) were cleaned" in warning and "name ×2" in warning


def test_a_record_that_cannot_be_stored_is_skipped_and_nothing_is_marked_removed(
    sandbox, make_pat_profile
):
    org = sandbox.state.default_org
    profile = make_pat_profile()
    assert download(profile).status == JobRun.Status.SUCCEEDED
    held = SoftwareSubscription.objects.holding_seats().filter(profile=profile).count()

    # The next listing has one membership whose URI is too long to be a seat key.
    victim = next(m for m in org.members if m.role == "user")
    victim.uuid = "X" * 400
    victim.json = None  # the fake caches each membership's JSON
    run = download(profile)

    assert run.status == JobRun.Status.SUCCEEDED, run.error_message
    assert "1 vendor records could not be stored and were skipped" in " ".join(run.warnings)
    assert run.removed == 0
    assert SoftwareSubscription.objects.holding_seats().filter(profile=profile).count() == held
