"""The dashboard's stored figures are the live figures, written down by the jobs that change
them: after each job kind, every group the kind refreshes equals what the live definitions
(the subscription queryset's ``counted()``, ``holding_seats()``, ``stale()``; the savings
source; the stale-seat comparison) count at the stored "computed at". Real fake Calendly over
HTTP, real jobs (``jobs.run_now``), real database."""

import datetime as dt
import io

import pytest
from django.utils import timezone

from calendly_integration.sandbox import start_sandbox
from calendly_integration.sandbox.demo import set_up
from reclamation.figures import stale_differences_by_profile
from reclamation.kinds import JobKind
from reclamation.services import stored_preview
from sam_saas import extensions, jobkinds
from sam_saas.models import IntegrationProfile, JobRun, SoftwareSubscription, StoredFigures
from sam_saas.services import figures, jobs, positions
from sam_saas.services.positions import EVERYTHING

pytestmark = pytest.mark.django_db
Kind = JobRun.Kind


@pytest.fixture
def demo():
    with start_sandbox(members=120, plan="enterprise", seed=3, rate_limit=0) as sandbox:
        yield set_up(sandbox.url, sandbox.state.default_org.admin_token, io.StringIO())


def _live(key: str, now: dt.datetime) -> dict:
    """The group's figures as the live definitions count them at ``now``."""
    if key == figures.SEATS:
        counts = positions.seat_counts(now, extensions.stale_thresholds())
        return {k: v.as_json() for k, v in counts.items()}
    if key == figures.SAVINGS:
        found = positions.savings(positions.year_start(now))
        return {k: v.as_json() for k, v in found.items()}
    if key == stored_preview.RULE_PREVIEW:  # the saved rules' live preview
        published = IntegrationProfile.objects.filter(status=IntegrationProfile.Status.PUBLISHED)
        return stored_preview.compute(list(published.values_list("pk", flat=True)), now, False)
    stale = SoftwareSubscription.objects.counted().stale(now)
    return {(None, p): c.as_json() for p, c in stale_differences_by_profile(stale, now).items()}


def _stored(key: str) -> tuple[dict, dt.datetime]:
    found = figures.read([key], EVERYTHING, timezone.now())[key]
    return found.rows, found.computed_at


def _json(data):
    """Stored JSON turns tuples into lists; compare both the same way."""
    if isinstance(data, dict):
        return {k: _json(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_json(v) for v in data]
    return data


def test_the_demo_jobs_leave_the_live_figures(demo):
    """The demo's download, activity pull, identification and reconciliation ran as jobs;
    each group is stored and equals the live count."""
    for key in (figures.SEATS, figures.SAVINGS, figures.STALE_REASONS, stored_preview.RULE_PREVIEW):
        rows, computed_at = _stored(key)
        assert computed_at is not None, key
        assert _json(rows) == _json(_live(key, computed_at)), key
    rows, _ = _stored(figures.SEATS)
    assert sum(v["assigned"] for v in rows.values()) > 50
    assert sum(v["stale"] for v in rows.values()) > 0


@pytest.mark.parametrize(
    "kind",
    [
        Kind.DOWNLOAD,
        Kind.ACTIVITY,
        Kind.APPLY_RULES,
        Kind.RECONCILE,
        JobKind.PROFILE_CANDIDATES,
        JobKind.CANDIDATES,
    ],
)
def test_each_job_kind_refreshes_the_figures_it_changes(demo, kind):
    refreshed = extensions.registry.figure_refreshes[str(kind)]
    # Blank what is stored, as if it were wrong: only the job's refresh can put it right.
    earlier = timezone.now() - dt.timedelta(minutes=5)
    StoredFigures.objects.update(rows=[], computed_at=earlier)
    # And change the seats in a way no vendor listing undoes: a seat is excluded from cost.
    SoftwareSubscription.objects.filter(
        pk=SoftwareSubscription.objects.assigned().order_by("pk").values("pk")[:1]
    ).update(excluded_from_cost=True)
    scope = None if jobkinds.get(kind).is_global else demo

    run = jobs.run_now(scope, kind, JobRun.Trigger.COMMAND)

    assert run.status == JobRun.Status.SUCCEEDED, run.error_message
    for key in refreshed:
        rows, computed_at = _stored(key)
        assert computed_at > earlier, key
        assert _json(rows) == _json(_live(key, computed_at)), key
    for key in {figures.SEATS, figures.SAVINGS, figures.STALE_REASONS} - refreshed:
        assert _stored(key)[1] == earlier, key  # a kind refreshes only what it changes


def test_a_failed_job_leaves_the_figures_as_they_were(demo):
    earlier = timezone.now() - dt.timedelta(minutes=5)
    StoredFigures.objects.update(computed_at=earlier)
    run = jobs.create_run(demo, Kind.DOWNLOAD, JobRun.Trigger.COMMAND)
    JobRun.objects.filter(pk=run.pk).update(profile=None)  # a download needs its profile

    jobs.execute(run.pk)

    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.FAILED
    assert set(StoredFigures.objects.values_list("computed_at", flat=True)) == {earlier}


def test_a_rule_change_outside_a_job_refreshes_its_profile(
    demo, django_capture_on_commit_callbacks
):
    rule = demo.reclamation_rule
    earlier = timezone.now() - dt.timedelta(minutes=5)
    StoredFigures.objects.update(rows=[], computed_at=earlier)

    with django_capture_on_commit_callbacks(execute=True):
        rule.inactivity_days = 20
        rule.save()

    rows, computed_at = _stored(figures.SEATS)
    assert computed_at > earlier
    assert _json(rows) == _json(_live(figures.SEATS, computed_at))
    assert sum(v["stale"] for v in rows.values()) > 0


def test_a_profile_no_longer_published_counts_nowhere(demo):
    figures.refresh()
    demo.status = demo.Status.DRAFT
    demo.save(update_fields=["status"])

    rows, _ = _stored(figures.SEATS)

    assert rows == {}
    assert rows == _live(figures.SEATS, timezone.now())


def test_a_candidate_moved_outside_a_job_drops_its_profiles_savings(
    demo, admin_user, django_capture_on_commit_callbacks
):
    """A SAM manager's decision shows on the next view: the profile's savings and stale-seat
    figures are dropped once the move commits, and the next read computes them afresh."""
    from reclamation.models import OPEN_STATES, ReclamationCandidate
    from reclamation.services import workflow

    open_candidate = ReclamationCandidate.objects.filter(
        profile=demo, state__in=OPEN_STATES
    ).first()
    before, _ = _stored(figures.SAVINGS)

    with django_capture_on_commit_callbacks(execute=True):
        moved = workflow.close_skipped([open_candidate.pk], admin_user, "not this one")

    assert moved.done == [open_candidate.pk]
    assert not StoredFigures.objects.filter(profile=demo, group=figures.SAVINGS).exists()
    assert StoredFigures.objects.filter(profile=demo, group=figures.SEATS).exists()
    rows, computed_at = _stored(figures.SAVINGS)
    assert _json(rows) == _json(_live(figures.SAVINGS, computed_at))
    assert sum(v["open"] for v in rows.values()) == sum(v["open"] for v in before.values()) - 1
