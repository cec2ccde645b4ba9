"""``manage.py check --deploy`` checks for what production must not run with.

``config/settings/production.py`` already refuses these at start-up; the checks catch a
deployment built on other settings (a custom module, or local settings by mistake). Both use
the functions in ``sam_saas.setting_guards``, so the rules are written once.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register

from . import setting_guards as guards


@register(Tags.security, deploy=True)
def check_secret_key(app_configs=None, **kwargs):
    problem = guards.secret_key_problem(getattr(settings, "SECRET_KEY", ""))
    return [Error(problem, id="sam_saas.E001")] if problem else []


@register(Tags.security, deploy=True)
def check_encryption_keys(app_configs=None, **kwargs):
    problem = guards.encryption_keys_problem(list(getattr(settings, "FIELD_ENCRYPTION_KEYS", [])))
    return [Error(problem, id="sam_saas.E002")] if problem else []


@register(Tags.security, deploy=True)
def check_public_base_url(app_configs=None, **kwargs):
    url = getattr(settings, "SAM_SETTINGS", {}).get("PUBLIC_BASE_URL", "")
    problem = guards.public_base_url_problem(url)
    if not problem and guards.is_loopback_url(url):
        problem = (
            f"PUBLIC_BASE_URL is {url!r}, a loopback address: links in e-mails would not reach "
            "anyone. Set it to the site's public address."
        )
    return [Error(problem, id="sam_saas.E003")] if problem else []
