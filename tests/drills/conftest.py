"""Fault drills: the fake Calendly turns hostile in the middle of a run.

``hostile_after(n, action)`` runs ``action`` right after the fake has answered its ``n``-th API
request (OAuth and control requests are not counted), so "mid-run" is exact, not timed. Each
drill then checks the same four things (``DrillCheck``): the data is right, the job result is
clear and carries a hint, nothing that should stay was removed, and no secret reached a log
record or the job result."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest

from calendly_integration.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, start_sandbox
from calendly_integration.sandbox.records import ALL_SCOPES
from sam_saas.models import ConnectionAlias, IntegrationProfile, JobRun, SoftwareSubscription
from sam_saas.services import jobs
from tests.helpers import oauth_app

HOLDING = [SoftwareSubscription.Status.ACTIVE, SoftwareSubscription.Status.PENDING]


@pytest.fixture
def sandbox():
    # 250 members: three pages of memberships, so "mid-listing" exists.
    with start_sandbox(members=250, plan="enterprise", seed=11, rate_limit=0) as sb:
        yield sb


@pytest.fixture
def org(sandbox):
    return sandbox.state.default_org


def admin_user(org):
    """The account the connections act as: an admin, not the owner."""
    return next(m.user for m in org.members if m.role == "admin")


@pytest.fixture
def pat_profile(sandbox, org):
    alias = ConnectionAlias.objects.create(
        name="Acme PAT",
        auth_type=ConnectionAlias.AuthType.PERSONAL_TOKEN,
        api_base_url=sandbox.url,
        access_token=org.admin_token,
    )
    return IntegrationProfile.objects.create(
        name="Acme", alias=alias, status="published", provider="calendly"
    )


@pytest.fixture
def oauth_profile(sandbox, org):
    parent = oauth_app(sandbox)
    with sandbox.state.lock:
        access, refresh = sandbox.state.issue_oauth_pair(
            DEFAULT_CLIENT_ID, admin_user(org), org, tuple(ALL_SCOPES)
        )
    alias = ConnectionAlias.objects.create(
        name="Acme OAuth",
        parent=parent,
        auth_type=ConnectionAlias.AuthType.OAUTH2,
        access_token=access.value,
        refresh_token=refresh.value,
        token_expires_at=dt.datetime.fromtimestamp(access.expires_at, tz=dt.UTC),
        granted_scopes=list(ALL_SCOPES),
        connection_status=ConnectionAlias.ConnectionStatus.CONNECTED,
    )
    return IntegrationProfile.objects.create(
        name="Acme OAuth", alias=alias, status="published", provider="calendly"
    )


@pytest.fixture
def hostile_after(sandbox):
    """``hostile_after(n, action)``: run ``action()`` once, right after the ``n``-th API request
    from now has been handled (before its answer is sent, so the client's next request already
    meets the hostile vendor)."""
    state = sandbox.state
    original = state.log_request
    pending: list[list] = []
    lock = threading.Lock()
    counter = {"api": 0}

    def log_request(method, path, status):
        original(method, path, status)
        if path.startswith(("/oauth/", "/_sandbox/")):
            return
        with lock:
            counter["api"] += 1
            due = [p for p in pending if p[0] == counter["api"]]
            for p in due:
                pending.remove(p)
        for _, action in due:
            action()

    state.log_request = log_request

    def schedule(n: int, action):
        with lock:
            pending.append([counter["api"] + n, action])

    yield schedule
    state.log_request = original


def run(profile, kind=JobRun.Kind.DOWNLOAD) -> JobRun:
    return jobs.run_now(profile, kind, JobRun.Trigger.COMMAND)


def seats(profile):
    return SoftwareSubscription.objects.filter(profile=profile)


def holding(profile) -> dict[str, str]:
    return dict(seats(profile).filter(status__in=HOLDING).values_list("external_seat_id", "role"))


def vendor_seats(org) -> set[str]:
    """What the fake holds now: memberships and pending invitations."""
    members = {m.uri for m in org.members}
    return members | {i.uri for i in org.invitations.values() if i.status == "pending"}


class DrillCheck:
    """The four checks every drill ends with."""

    def __init__(self, sandbox, caplog):
        self.sandbox = sandbox
        self.caplog = caplog
        self.secrets: set[str] = set()
        caplog.set_level(logging.DEBUG)
        self.remember_secrets()

    def remember_secrets(self) -> None:
        state = self.sandbox.state
        with state.lock:
            self.secrets |= {*state.tokens, *state.refresh_tokens, DEFAULT_CLIENT_SECRET}

    def clear_failure(self, run: JobRun, *words: str) -> None:
        """Failed, with the error class, a message and a hint that says what to do."""
        assert run.status == JobRun.Status.FAILED, run
        assert run.error_class and run.error_message and run.hint, run.__dict__
        text = f"{run.error_message} {run.hint}".lower()
        for word in words:
            assert word.lower() in text, (word, run.error_message, run.hint)
        assert run.finished_at is not None

    def nothing_removed(self, profile, before: dict[str, str]) -> None:
        """Every seat held before the drill is still held, here and at the vendor."""
        now = holding(profile)
        assert set(before) <= set(now), set(before) - set(now)
        assert not seats(profile).filter(status=SoftwareSubscription.Status.REMOVED).exists()
        deletes = [p for (m, p, _s) in self.sandbox.state.request_log if m == "DELETE"]
        assert deletes == []

    def matches_vendor(self, profile, org) -> None:
        """The stored seats are exactly what the fake holds."""
        assert set(holding(profile)) == vendor_seats(org)
        assert len(holding(profile)) == seats(profile).filter(status__in=HOLDING).count()

    def no_secret_leaked(self, *runs: JobRun) -> None:
        self.remember_secrets()
        secrets = {s for s in self.secrets if s}
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        for record in self.caplog.records:
            text = f"{formatter.format(record)} {record.args!r}"
            leaked = [s for s in secrets if s in text]
            assert leaked == [], f"secret in a log record of {record.name}: {record.msg!r}"
        for job in runs:
            job.refresh_from_db()
            text = f"{job.error_message} {job.hint} {job.warnings} {job.progress_message}"
            assert not [s for s in secrets if s in text], job


@pytest.fixture
def check(sandbox, caplog):
    return DrillCheck(sandbox, caplog)
