"""Finding 10 of issue 11: the demo's e-mail links pointed at port 8000 even when `make run`
served another port. ``scripts/run-demo.sh`` is run here with a stand-in Python that records
each command and the PUBLIC_BASE_URL it was given; the real settings then turn that variable
into the links' address."""

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PUBLIC_BASE_URL", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")
        and not k.startswith("DJANGO_")
    }
    env.update(extra)
    return env


def test_make_run_on_another_port_mails_links_to_that_port(tmp_path):
    log = tmp_path / "calls.log"
    fake_python = tmp_path / "python"
    fake_python.write_text(f'#!/bin/sh\necho "$PUBLIC_BASE_URL $*" >> {log}\n')
    fake_python.chmod(fake_python.stat().st_mode | stat.S_IEXEC)

    result = subprocess.run(
        ["bash", "scripts/run-demo.sh"],
        cwd=ROOT,
        env=clean_env(PY=str(fake_python), PORT="8123", SANDBOX_LOG=str(tmp_path / "sandbox.log")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    served = next(line for line in calls if " manage.py runserver " in line)
    assert served == "http://127.0.0.1:8123 manage.py runserver 127.0.0.1:8123"
    assert all(line.startswith("http://127.0.0.1:8123 ") for line in calls)
    assert "Links in e-mails start with http://127.0.0.1:8123." in result.stdout

    code = (
        "from reclamation.services.notifications import public_url; "
        "print(public_url('/reclaim/answer/t/'))"
    )
    links = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=clean_env(
            DJANGO_SETTINGS_MODULE="config.settings.local",
            PUBLIC_BASE_URL="http://127.0.0.1:8123",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert links.stdout.strip() == "http://127.0.0.1:8123/reclaim/answer/t/", links.stderr
