"""`honcho start` runs the whole product from the Procfile: the web process serves the admin,
a SAM manager's "Refresh now" goes through Redis to the worker process, which downloads the
seats into PostgreSQL; beat starts alongside. The processes run with the laptop settings, as
an operator's shell would, pointed at the test database and their own Redis database."""

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from sam_saas.models import JobRun, SoftwareSubscription

from .conftest import BASE_DIR, WORKER_MARKS, broker_url, database_url, redis_client, wait_for

pytestmark = WORKER_MARKS

HONCHO_DB = 12
VENV_BIN = Path(sys.executable).parent


def free_port_base() -> int:
    """A port for web whose +100 and +200 neighbours (honcho's worker and beat) are free too."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 200 < 65535:
            return port
    raise AssertionError("no free port")


def test_the_procfile_declares_web_worker_and_exactly_one_beat():
    kinds = re.findall(r"^([A-Za-z0-9_-]+):", (BASE_DIR / "Procfile").read_text(), re.M)
    assert kinds == ["web", "worker", "beat"]


@pytest.fixture
def honcho(tmp_path):
    if not (VENV_BIN / "honcho").exists():
        pytest.skip("honcho is not installed in this virtualenv")
    redis_client(HONCHO_DB).flushdb()
    port = free_port_base()
    log_path = tmp_path / "honcho.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "CELERY_BROKER_URL", "CACHE_URL")
    }
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        DATABASE_URL=database_url(),
        REDIS_URL=broker_url(HONCHO_DB),
        # What the test process encrypts with, so the worker can read the alias's token.
        FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
        TMPDIR=str(tmp_path),
        PYTHONUNBUFFERED="1",
    )
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [str(VENV_BIN / "honcho"), "start", "-p", str(port), "-e", os.devnull],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", log_path
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()


def test_honcho_start_runs_the_whole_product(honcho, sandbox, make_profile):
    base, log_path = honcho
    profile = make_profile("Honcho", activity_enabled=False)
    operator = get_user_model().objects.create_superuser("operator", "op@example.com")
    # Hashed as the laptop settings expect (the test settings use a fast hasher they lack).
    hasher = PBKDF2PasswordHasher()
    operator.password = hasher.encode("operator-pw-1", hasher.salt())
    operator.save(update_fields=["password"])

    def log():
        return log_path.read_text(errors="replace")

    def web_up():
        try:
            return requests.get(f"{base}/admin/login/", timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(web_up, timeout=90, interval=0.5, what=f"the web process\n{log()[-3000:]}")
    wait_for(lambda: " ready." in log(), timeout=60, what=f"the worker\n{log()[-3000:]}")
    wait_for(lambda: "beat: Starting" in log(), timeout=60, what=f"beat\n{log()[-3000:]}")

    # A SAM manager signs in and presses "Refresh now" on the profile.
    browser = requests.Session()
    browser.get(f"{base}/admin/login/", timeout=10)
    signed_in = browser.post(
        f"{base}/admin/login/?next=/admin/",
        data={
            "username": "operator",
            "password": "operator-pw-1",
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"Referer": f"{base}/admin/login/"},
        timeout=10,
    )
    assert signed_in.status_code == 200 and "Log out" in signed_in.text, signed_in.text[:500]
    changelist = f"{base}/admin/sam_saas/integrationprofile/"
    browser.get(changelist, timeout=10)
    queued = browser.post(
        changelist,
        data={
            "action": "refresh_now",
            "_selected_action": [profile.pk],
            "csrfmiddlewaretoken": browser.cookies["csrftoken"],
        },
        headers={"Referer": changelist},
        timeout=10,
    )
    assert queued.status_code == 200 and "Queued" in queued.text

    run = wait_for(
        lambda: (
            JobRun.objects.filter(profile=profile).exclude(status__in=["queued", "running"]).first()
        ),
        timeout=60,
        what=f"the worker process to run the refresh\n{log()[-3000:]}",
    )
    assert run.status == JobRun.Status.SUCCEEDED, run.error_message
    assert run.trigger == JobRun.Trigger.MANUAL
    org = sandbox.state.default_org
    assert SoftwareSubscription.objects.filter(profile=profile, kind="member").count() == len(
        org.members
    )
    assert "sam_saas.tasks.run_job" in log()  # it went through the worker, not inline
