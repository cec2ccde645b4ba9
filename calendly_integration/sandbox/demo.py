"""The laptop demo: connect a profile to a running fake Calendly, import a directory that
leaves some seats unmatched, and run the processes, so `make run` opens on real data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from decimal import Decimal

import requests
from django.utils import timezone

from calendly_integration.constants import PROVIDER, PUBLISHER
from reclamation.kinds import JobKind
from sam_saas.models import ConnectionAlias, Entitlement, IntegrationProfile, JobRun, SoftwareModel
from sam_saas.services import jobs
from sam_saas.services.people_import import import_people

DEMO_PROFILE = "Acme Demo (Calendly)"
DEPARTMENTS = [
    ("Sales", "CC-100"),
    ("Engineering", "CC-200"),
    ("Marketing", "CC-300"),
    ("Customer Success", "CC-400"),
    ("Finance", "CC-500"),
    ("People", "CC-600"),
]


def wait_until_up(url: str, token: str, timeout: float = 30) -> None:
    """Wait until the fake answers ``/users/me`` for ``token``: a large organization is
    still being seeded, and the token registered, for a moment after the port opens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = requests.get(
                f"{url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=2
            )
            if response.status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"The fake Calendly at {url} did not accept the token in time.")
        time.sleep(0.2)


def fetch_members(url: str, token: str) -> list[dict]:
    headers = {"Authorization": f"Bearer {token}"}
    me = requests.get(f"{url}/users/me", headers=headers, timeout=10).json()["resource"]
    members, params = [], {"organization": me["current_organization"], "count": 100}
    while True:
        page = requests.get(
            f"{url}/organization_memberships", headers=headers, params=params, timeout=10
        ).json()
        members.extend(page["collection"])
        token_ = page["pagination"]["next_page_token"]
        if not token_:
            return members
        params["page_token"] = token_


def demo_directory(members: list[dict]) -> bytes:
    """A directory CSV for most members: every seventh one is missing (to show subscriptions
    without user), every eleventh is a leaver, and each department has a manager."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "name", "department", "cost_center", "manager_email", "active"])
    managers: dict[str, str] = {}
    for index, membership in enumerate(members):
        if index % 7 == 3:
            continue
        user = membership["user"]
        department, cost_center = DEPARTMENTS[index % len(DEPARTMENTS)]
        email = user["email"].lower()
        manager = managers.setdefault(department, email)
        writer.writerow(
            [
                email,
                user["name"],
                department,
                cost_center,
                "" if manager == email else manager,
                "no" if index % 11 == 5 else "yes",
            ]
        )
    return out.getvalue().encode()


def demo_entitlement() -> None:
    """A contract to show money on the dashboard: 260 Enterprise seats at 16 USD a month,
    renewing in 45 days (so right-sizing has something to say)."""
    model = SoftwareModel.objects.filter(publisher__name=PUBLISHER, edition="Enterprise").first()
    if model is None or Entitlement.objects.filter(software_model=model).exists():
        return
    today = timezone.localdate()
    Entitlement.objects.create(
        software_model=model,
        purchased_rights=260,
        unit_cost=Decimal("16.00"),
        currency="USD",
        period=Entitlement.Period.MONTHLY,
        start_date=today - dt.timedelta(days=320),
        end_date=today + dt.timedelta(days=45),
        cost_center="CC-100",
        contract_reference="DEMO-PO-0001",
    )


def set_up(url: str, token: str, stdout) -> IntegrationProfile:
    wait_until_up(url, token)
    alias, _ = ConnectionAlias.objects.update_or_create(
        name=DEMO_PROFILE,
        defaults={
            "provider": PROVIDER,
            "auth_type": ConnectionAlias.AuthType.PERSONAL_TOKEN,
            "api_base_url": url,
            "access_token": token,
        },
    )
    profile, _ = IntegrationProfile.objects.update_or_create(
        name=DEMO_PROFILE,
        defaults={
            "provider": PROVIDER,
            "alias": alias,
            "status": IntegrationProfile.Status.PUBLISHED,
            "reclaim_enabled": True,
        },
    )
    result = import_people(demo_directory(fetch_members(url, token)))
    stdout.write(
        f"Demo directory: {result.created} created, {result.updated} updated "
        f"(some seats are left without a user on purpose)."
    )
    steps = [
        (profile, JobRun.Kind.DOWNLOAD),
        (profile, JobRun.Kind.ACTIVITY),
        (None, JobKind.CANDIDATES),
        (None, JobRun.Kind.RECONCILE),
    ]
    for scope, kind in steps:
        if kind == JobKind.CANDIDATES:
            demo_entitlement()
        try:
            run = jobs.run_now(scope, kind, JobRun.Trigger.COMMAND)
        except jobs.JobAlreadyOpen:
            continue
        stdout.write(
            f"{run.get_kind_display()}: {run.get_status_display()} "
            f"(fetched {run.fetched}, created {run.created}, updated {run.updated})"
            + (f" — {run.error_message} {run.hint}" if run.status == JobRun.Status.FAILED else "")
        )
    return profile
