"""Drill: the database is unreachable for a moment during a refresh.

Every SQL statement (any thread, any connection) raises ``OperationalError`` for a while,
starting right after the fake Calendly answered the last page of members, i.e. when the
download is about to write. The job result or the worker log must say so, nothing stored may
change, and the next run must recover."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from sam_saas.models import JobRun
from sam_saas.services import dispatch

from .conftest import holding, run

pytestmark = pytest.mark.django_db(transaction=True)

LAST_MEMBER_PAGE = 6  # 1 /users/me, 2 organization, 3 own membership, 4-6 members


class Outage:
    """Fails the next ``statements`` SQL statements of every connection (or until ``end()``),
    then heals."""

    def __init__(self):
        self.remaining = 0
        self.failed: list[str] = []
        self.lock = threading.Lock()

    def begin(self, statements: int) -> None:
        with self.lock:
            self.remaining = statements

    def end(self) -> None:
        with self.lock:
            self.remaining = 0

    def take(self, sql: str) -> bool:
        with self.lock:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
            self.failed.append(sql[:120])
            return True


@pytest.fixture
def outage(monkeypatch):
    state = Outage()
    original = CursorWrapper._execute_with_wrappers

    def flaky(self, sql, params, many, executor):
        if state.take(str(sql)):
            raise OperationalError(
                "connection to server at 127.0.0.1, port 5432 failed: Connection refused (drill)"
            )
        return original(self, sql, params, many, executor)

    monkeypatch.setattr(CursorWrapper, "_execute_with_wrappers", flaky)
    return state


def test_a_blip_fails_the_run_with_a_database_hint_and_the_next_run_recovers(
    sandbox, org, pat_profile, hostile_after, outage, check
):
    run(pat_profile)
    before = holding(pat_profile)
    sandbox.state.remove_member(org, next(m for m in org.members if m.role == "user"))
    hostile_after(LAST_MEMBER_PAGE, lambda: outage.begin(1))

    job = run(pat_profile)

    assert outage.failed, "the outage never hit a statement"
    check.clear_failure(job, "database")
    assert job.error_class == "OperationalError"
    assert holding(pat_profile) == before  # nothing half-written
    log = "\n".join(r.getMessage() for r in check.caplog.records if r.levelno >= logging.WARNING)
    assert f"job {job.pk} failed" in log

    recovered = run(pat_profile)
    assert recovered.status == JobRun.Status.SUCCEEDED, recovered.error_message
    assert recovered.removed == 1
    check.matches_vendor(pat_profile, org)
    check.no_secret_leaked(job, recovered)


def test_an_outage_that_also_hides_the_failure_is_in_the_worker_log(
    sandbox, pat_profile, hostile_after, outage, check
):
    """The database stays away long enough that recording the failure fails too: the worker
    log (the task's traceback) says what happened."""
    run(pat_profile)
    before = holding(pat_profile)
    hostile_after(LAST_MEMBER_PAGE, lambda: outage.begin(10**6))

    with pytest.raises(OperationalError):
        run(pat_profile)
    outage.end()  # the database is back

    records = [r for r in check.caplog.records if r.levelno >= logging.ERROR]
    assert any("failed unexpectedly" in r.getMessage() and r.exc_info for r in records)
    assert "OperationalError" in check.caplog.text
    assert holding(pat_profile) == before
    check.no_secret_leaked()


def test_after_an_outage_that_hides_the_failure_the_next_dispatch_recovers(
    sandbox, pat_profile, hostile_after, outage
):
    run(pat_profile)
    hostile_after(LAST_MEMBER_PAGE, lambda: outage.begin(10**6))
    with pytest.raises(OperationalError):
        run(pat_profile)
    outage.end()

    # The database is back, and a day has passed: the next refresh, from beat or from
    # "Refresh now", must run.
    a_day_ago = timezone.now() - dt.timedelta(days=1)
    JobRun.objects.filter(profile=pat_profile).update(queued_at=a_day_ago, started_at=a_day_ago)
    dispatch.dispatch_due_refreshes(now=pat_profile.compute_next_refresh())
    downloads = JobRun.objects.filter(profile=pat_profile, kind=JobRun.Kind.DOWNLOAD)
    assert downloads.filter(status=JobRun.Status.SUCCEEDED, queued_at__gt=a_day_ago).exists()
    assert not downloads.filter(status__in=JobRun.OPEN_STATUSES).exists()
