"""Production settings. Every secret must come from the environment: there are no defaults,
so a missing one stops the process at start-up instead of running with a guessable value."""

from django.core.exceptions import ImproperlyConfigured

from sam_saas.setting_guards import (
    encryption_keys_problem,
    public_base_url_problem,
    secret_key_problem,
)

from .base import *  # noqa: F403
from .base import DATABASES, SAM_SETTINGS, env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")
# No laptop default here: e-mail links must point at the real site.
SAM_SETTINGS["PUBLIC_BASE_URL"] = env("PUBLIC_BASE_URL")
# The published development keys, a malformed Fernet key: refused at start-up, each with a
# message naming the variable (the same functions back the `check --deploy` checks).
for _problem in (
    secret_key_problem(SECRET_KEY),
    encryption_keys_problem(FIELD_ENCRYPTION_KEYS),
    public_base_url_problem(SAM_SETTINGS["PUBLIC_BASE_URL"]),
):
    if _problem:
        raise ImproperlyConfigured(_problem)
DATABASES["default"] = env.db("DATABASE_URL")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Credentials go to CALENDLY_ALLOWED_HOSTS over https only; never to a loopback fake.
CALENDLY_ALLOW_LOOPBACK = False

# HTTPS everywhere. Behind a proxy that terminates TLS, it must set X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
}
