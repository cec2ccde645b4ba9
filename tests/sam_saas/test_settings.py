"""Settings: embedded defaults, and production that refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from sam_saas import setting_guards as guards

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x" * 64 + "-prod-secret-for-the-check-deploy-test-only",
    "DJANGO_ALLOWED_HOSTS": "sam.example.com",
    "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "DATABASE_URL": "sqlite:////tmp/sam-check-deploy.sqlite3",
    "PUBLIC_BASE_URL": "https://sam.example.com",
}


def manage(*args, env_extra=None, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "FIELD_ENCRYPTION_KEYS",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    ):
        env.pop(name, None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_check_deploy_with_a_complete_production_environment():
    result = manage(
        "check", "--deploy", "--settings=config.settings.production", env_extra=PRODUCTION_ENV
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_it_refuses_to_start_production_without_each_secret():
    for missing in (
        "DJANGO_SECRET_KEY",
        "FIELD_ENCRYPTION_KEYS",
        "DATABASE_URL",
        "DJANGO_ALLOWED_HOSTS",
        "PUBLIC_BASE_URL",
    ):
        env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
        result = manage("check", "--settings=config.settings.production", env_extra=env)
        assert result.returncode != 0, missing
        assert missing in result.stderr, (missing, result.stderr[-500:])


def test_it_refuses_to_start_production_with_published_or_broken_keys():
    """Finding 9 of issue 11: the development keys are in this repository, so production must
    not accept them, nor a Fernet key that would only fail at the first secret read."""
    refused = {
        "DJANGO_SECRET_KEY": guards.DEVELOPMENT_SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": guards.DEVELOPMENT_ENCRYPTION_KEY,
    }
    cases = [*refused.items(), ("FIELD_ENCRYPTION_KEYS", "not-a-fernet-key")]
    cases.append(("FIELD_ENCRYPTION_KEYS", f"{Fernet.generate_key().decode()},short"))
    cases.append(("PUBLIC_BASE_URL", "sam.example.com"))
    for variable, value in cases:
        env = {**PRODUCTION_ENV, variable: value}
        result = manage("check", "--settings=config.settings.production", env_extra=env)
        assert result.returncode != 0, (variable, value)
        assert "ImproperlyConfigured" in result.stderr, result.stderr[-500:]
        assert variable in result.stderr.splitlines()[-1], (variable, result.stderr[-500:])


def test_check_deploy_reports_each_development_value_outside_production_settings():
    """A deployment on other settings than production.py still hears about all three."""
    result = manage(
        "check",
        "--deploy",
        env_extra={
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "FIELD_ENCRYPTION_KEYS": "not-a-fernet-key",
        },
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "sam_saas.E001" in output and "DJANGO_SECRET_KEY" in output
    assert "sam_saas.E002" in output and "not a valid Fernet key" in output
    assert "sam_saas.E003" in output and "PUBLIC_BASE_URL" in output
    published = manage(
        "check",
        "--deploy",
        env_extra={"DJANGO_SETTINGS_MODULE": "config.settings.local"},
    )
    assert "sam_saas.E002" in published.stdout + published.stderr
    assert "published" in published.stdout + published.stderr


def test_it_runs_tasks_inline_without_a_broker_and_on_workers_with_one():
    code = "from django.conf import settings; print(settings.CELERY_TASK_ALWAYS_EAGER, settings.DATABASES['default']['ENGINE'], settings.EMAIL_BACKEND)"
    local = manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        env_extra={"DJANGO_SETTINGS_MODULE": "config.settings.local"},
    )
    assert local.returncode == 0, local.stderr
    assert local.stdout.split() == [
        "True",
        "django.db.backends.sqlite3",
        "django.core.mail.backends.console.EmailBackend",
    ]
    with_broker = manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        env_extra={
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/sam",
            "EMAIL_URL": "smtp+tls://user:pw@mail.example.com:587",
        },
    )
    assert with_broker.stdout.split() == [
        "False",
        "django.db.backends.postgresql",
        "django.core.mail.backends.smtp.EmailBackend",
    ]


def test_it_reads_a_list_of_encryption_keys():
    keys = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    code = "from django.conf import settings; print(len(settings.FIELD_ENCRYPTION_KEYS))"
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        env_extra={
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "FIELD_ENCRYPTION_KEYS": ",".join(keys),
        },
    )
    assert result.stdout.strip() == "2", result.stderr


DEVELOPER_COMMANDS = (
    "calendly_sandbox",
    "calendly_demo",
    "demo_setup",
    "bench_download",
    "bench_scale",
    "bench_people_import",
)


def test_it_installs_no_developer_app_under_production_settings():
    code = "from django.conf import settings; print(' '.join(settings.INSTALLED_APPS))"
    apps = manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        "--settings=config.settings.production",
        env_extra=PRODUCTION_ENV,
    )
    assert apps.returncode == 0, apps.stderr
    assert "calendly_integration" in apps.stdout.split()
    assert "calendly_integration.sandbox" not in apps.stdout.split()

    production = manage("help", "--settings=config.settings.production", env_extra=PRODUCTION_ENV)
    assert production.returncode == 0, production.stderr
    listed = production.stdout.split()
    assert "create_calendly_profile" in listed  # the listing is real, not empty
    for command in DEVELOPER_COMMANDS:
        assert command not in listed, command


def test_it_lists_the_developer_commands_under_local_settings():
    local = manage("help", env_extra={"DJANGO_SETTINGS_MODULE": "config.settings.local"})
    assert local.returncode == 0, local.stderr
    listed = local.stdout.split()
    for command in DEVELOPER_COMMANDS:
        assert command in listed, command


def test_it_reads_a_dot_env_file_only_when_asked():
    code = (
        "import environ; calls = []; "
        "environ.Env.read_env = lambda *a, **k: calls.append(a); "
        "import config.settings.base; print(len(calls))"
    )

    def reads(**env_extra):
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_READ_DOT_ENV_FILE"}
        env.update(env_extra)
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert reads() == "0"
    assert reads(DJANGO_READ_DOT_ENV_FILE="1") == "1"
