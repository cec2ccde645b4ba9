"""The measurements of ``bench_scale``. Each returns :class:`~.table.Figure` objects; none
asserts anything (a benchmark prints numbers, tests never time anything).

Targets come from issue 13 and are stated at a million subscriptions. Pages must not grow
with the table, so their target is the same at any size; jobs must grow at most linearly, so
their target is scaled to the size measured (10 s at 1M is 1 s at 100k).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sam_saas.models import SoftwareSubscription

from . import data
from .sql import execute
from .table import Figure

PAGE_TARGET_MS = 150
CSV_TARGET_ROWS_S = 100_000
CSV_MEMORY_TARGET_MB = 30
MILLION = 1_000_000
Sub = SoftwareSubscription


def scaled(target_at_million: float, size: int) -> float:
    return target_at_million * size / MILLION


def timed(function: Callable[[], object], repeat: int, before: Callable | None = None):
    """Run ``function`` ``repeat`` times (``before`` untimed ahead of each); seconds per run
    and the last result."""
    runs, result = [], None
    for _ in range(repeat):
        if before:
            before()
        started = time.perf_counter()
        result = function()
        runs.append(time.perf_counter() - started)
    return runs, result


# -- pages -----------------------------------------------------------------------------------


def client() -> Client:
    user, _ = get_user_model().objects.get_or_create(
        username=f"{data.PREFIX}-admin",
        defaults={"is_staff": True, "is_superuser": True, "email": f"admin@{data.DOMAIN}"},
    )
    browser = Client()
    browser.force_login(user)
    return browser


def page(browser: Client, name: str, url: str, repeat: int) -> Figure:
    browser.get(url)  # warm caches (templates, content types, permissions)
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(url)
    count = len(queries)
    if response.status_code != 200:
        return Figure(name, "ms", [], PAGE_TARGET_MS, note=f"HTTP {response.status_code}: {url}")
    runs, cpu = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        browser.get(url)
        runs.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    # On a shared machine wall time includes waiting for a core; the web process's own CPU
    # time (the database's is not in it) says how much of a page is Python.
    cpu_ms = statistics.median(cpu)
    return Figure(
        name,
        "ms",
        runs,
        PAGE_TARGET_MS,
        queries=count,
        note=f"{url} (Python CPU {cpu_ms:.0f} ms)",
        extra={"python_cpu_ms": cpu},
    )


def pages(browser: Client, repeat: int) -> list[Figure]:
    from sam_saas.admin.subscriptions import SoftwareSubscriptionAdmin

    subscriptions = reverse("admin:sam_saas_softwaresubscription_changelist")
    profile_id = data.bench_profiles().order_by("pk").values_list("pk", flat=True)[1]
    # ``o`` is the column's position, counting the action checkbox first; the column is the
    # one the admin sorts by last activity (its name has changed with the list's design).
    columns = list(SoftwareSubscriptionAdmin.list_display)
    inactive = 1 + next(
        (
            n
            for n, name in enumerate(columns)
            if "last_activity_at"
            in str(getattr(getattr(SoftwareSubscriptionAdmin, name, None), "admin_order_field", ""))
            or name == "last_activity_at"
        ),
        0,
    )
    person = Sub.objects.filter(person__isnull=False, profile_id=profile_id).order_by("pk")
    emails = list(person.values_list("user_principal_name", flat=True)[:501])
    email = emails[-1]  # the 501st seat's, or the last one of a small data set
    listing = [
        ("Subscription changelist", subscriptions),
        ("… filtered by profile", f"{subscriptions}?profile__id__exact={profile_id}"),
        ("… filtered by last activity (120+ days)", f"{subscriptions}?activity=120%2B"),
        ("… has user: No", f"{subscriptions}?has_user=no"),
        ("… searched by e-mail", f"{subscriptions}?q={email}"),
        ("… sorted by inactive days", f"{subscriptions}?o=-{inactive}"),
        ("Job-run changelist", reverse("admin:sam_saas_jobrun_changelist")),
        ("Dashboard", reverse("sam_dashboard")),
    ]
    if apps.is_installed("reclamation"):
        from reclamation.models import ReclamationRule

        rule = ReclamationRule.objects.filter(profile_id=profile_id).first()
        listing.append(
            (
                "Candidate changelist",
                reverse("admin:reclamation_reclamationcandidate_changelist"),
            )
        )
        if rule is not None:
            listing.append(
                (
                    "Rule preview (rule page)",
                    reverse("admin:reclamation_reclamationrule_change", args=[rule.pk]),
                )
            )
    return [page(browser, name, url, repeat) for name, url in listing]


# -- CSV -------------------------------------------------------------------------------------


def csv_throughput(browser: Client, repeat: int) -> Figure:
    url = reverse("sam_reports:csv", args=["subscriptions"])
    runs, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = browser.get(url)
        lines = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\r\n")
        rows = lines - 1  # the header
        runs.append(rows / (time.perf_counter() - started))
    return Figure(
        "CSV export /reports/subscriptions.csv",
        "rows/s",
        runs,
        CSV_TARGET_ROWS_S,
        higher_is_better=True,
        note=f"{rows:,} rows",
    )


def peak_rss_mb() -> float:
    """VmHWM: a child started by fork and exec inherits its parent's ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_probe(rows: int) -> float:
    """In a fresh process: stream ``rows`` rows of the subscriptions report; peak RSS."""
    from sam_saas.reports import registry

    report = registry.get("subscriptions")
    with open(os.devnull, "wb") as sink:
        for chunk in report.stream(report.filter({})[:rows]):
            sink.write(chunk)
    return peak_rss_mb()


def csv_memory(total: int, repeat: int) -> Figure:
    small = min(10_000, total)
    runs = []
    for _ in range(max(1, repeat)):
        peaks = []
        for rows in (small, total):
            output = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
                [sys.executable, sys.argv[0], "bench_scale", "--rss-probe", str(rows)],
                check=True,
                capture_output=True,
                text=True,
                env=os.environ.copy(),
            ).stdout
            peaks.append(float(output.strip().splitlines()[-1]))
        runs.append(peaks[1] - peaks[0])
    return Figure(
        f"CSV memory growth {small:,} → {total:,} rows",
        "MB",
        runs,
        CSV_MEMORY_TARGET_MB,
        note=f"peak RSS at {total:,} rows: {peaks[1]:.0f} MB",
    )


# -- jobs ------------------------------------------------------------------------------------


def identification(size: int, repeat: int) -> Figure:
    from reclamation.models import ReclamationCandidate
    from reclamation.services.identification import identify

    profiles = list(data.bench_profiles())
    seeded = ReclamationCandidate.objects.filter(profile__in=profiles).order_by("-pk")
    last_seeded = seeded.values_list("pk", flat=True).first() or 0

    def reset():
        """Back to the data set as built: the seeded candidates only, reopened."""
        with transaction.atomic():
            execute(
                "DELETE FROM reclamation_candidateevent WHERE candidate_id > %s "
                "AND candidate_id IN (SELECT id FROM reclamation_reclamationcandidate "
                "WHERE profile_id = ANY(%s))",
                [last_seeded, [p.pk for p in profiles]],
            )
            execute(
                "DELETE FROM reclamation_reclamationcandidate WHERE id > %s "
                "AND profile_id = ANY(%s)",
                [last_seeded, [p.pk for p in profiles]],
            )
        data.analyze()

    runs, result = timed(lambda: identify(profiles=profiles), repeat, before=reset)
    reset()
    return Figure(
        "Candidate identification",
        "s",
        runs,
        scaled(10, size),
        note=f"raised {result.raised:,}, closed {result.closed:,}",
    )


def rejudging(size: int, repeat: int) -> Figure:
    """Re-judging every stored seat after a rule change: the rules' own entry point
    (``sam_saas.services.rejudge.rejudge`` where it exists, else ``apply_rules`` per
    profile, the per-seat path it replaces). The change, untimed before each run: a user
    exclusion rule for one department in twelve is added, then removed on the next run, so
    every run writes about a twelfth of the seats back and closes or leaves their candidates."""
    from sam_saas.models import SubscriptionUserExclusionRule
    from sam_saas.services import rules

    profiles = list(data.bench_profiles())
    department = (
        Sub.objects.filter(profile__in=profiles, person__isnull=False)
        .values_list("person__department", flat=True)
        .first()
    )
    reason = f"{data.PREFIX} rule change"

    def change():
        excluded = SubscriptionUserExclusionRule.objects.filter(reason=reason)
        if not excluded.delete()[0] and department:
            SubscriptionUserExclusionRule.objects.create(
                department=department, exclude_from_reclamation=True, reason=reason
            )

    try:
        from sam_saas.services.rejudge import rejudge
    except ImportError:
        rejudge = None

    def run():
        if rejudge is not None:
            return rejudge([p.pk for p in profiles])
        return sum(rules.apply_rules(profile).examined for profile in profiles)

    runs, result = timed(run, repeat, before=change)
    SubscriptionUserExclusionRule.objects.filter(reason=reason).delete()
    run()  # back to the data set as built
    return Figure(
        "Re-judging all seats after a rule change",
        "s",
        runs,
        scaled(20, size),
        note=f"{'rejudge()' if rejudge else 'apply_rules per profile'}: {result}",
    )


IMPORT_ROWS = 100_000
IMPORT_TARGET_S = 10


def people_import(repeat: int, rows: int = IMPORT_ROWS) -> Figure:
    """A directory file of ``rows`` rows (100,000 by default): half of them people already known (every tenth with
    a new department), half new, with managers."""
    from sam_saas.models import Person
    from sam_saas.services.people_import import import_people

    known = list(
        Person.objects.filter(email__endswith=f"@{data.DOMAIN}", email__startswith="p")
        .order_by("pk")
        .values_list("email", "name", "department", "cost_center")[: rows // 2]
    )
    counter = {"run": 0}

    def csv_file() -> bytes:
        counter["run"] += 1
        out = ["email,name,department,cost_center,manager_email,active"]
        for n, (email, name, department, cost_center) in enumerate(known):
            if n % 10 == 0:
                department = f"Reorganized {counter['run']}"
            out.append(f"{email},{name},{department},{cost_center},,yes")
        for n in range(rows - len(known)):
            manager = f"import{n - n % 25}@{data.DOMAIN}" if n % 25 else ""
            out.append(f"import{n}@{data.DOMAIN},Imported {n},Sales,CC-01,{manager},yes")
        return ("\n".join(out) + "\n").encode()

    def reset():
        execute(
            "UPDATE sam_saas_person SET manager_id = NULL WHERE email LIKE %s",
            [f"import%@{data.DOMAIN}"],
        )
        execute("DELETE FROM sam_saas_person WHERE email LIKE %s", [f"import%@{data.DOMAIN}"])

    files = []

    def before():
        reset()
        files.append(csv_file())

    runs, result = timed(lambda: import_people(files[-1]), repeat, before=before)
    reset()
    return Figure(
        f"People import of {rows:,} rows",
        "s",
        runs,
        IMPORT_TARGET_S * rows / IMPORT_ROWS,
        note=result.summary() if result else "",
    )
