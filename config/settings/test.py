"""Test settings: fast hashing, inline tasks, an in-memory mail outbox.

DATABASE_URL and REDIS_URL still come from the environment, so CI runs the same suite on
PostgreSQL and Redis while a newcomer runs it on SQLite.
"""

import os

from sam_saas.setting_guards import TEST_ENCRYPTION_KEYS, TEST_SECRET_KEY

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, env

# The developer app (fake Calendly, demo, benchmarks); production settings never install it.
INSTALLED_APPS = [*INSTALLED_APPS, "calendly_integration.sandbox"]

DEBUG = False
SECRET_KEY = TEST_SECRET_KEY
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
FIELD_ENCRYPTION_KEYS = list(TEST_ENCRYPTION_KEYS)
# Tests call tasks inline unless a test starts a real worker (those override this).
CELERY_TASK_ALWAYS_EAGER = True
REQUIRE_SERVICES = env.bool("REQUIRE_SERVICES", default=False)

# requests-oauthlib refuses plain-http token URLs; the fake Calendly serves http on loopback.
# Never set this in production.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

# Real HTTP to the fake Calendly, but no multi-second backoffs in the suite.
CALENDLY_CLIENT = {
    "connect_timeout": 2.0,
    "read_timeout": 5.0,
    "max_retries": 3,
    "backoff_base": 0.01,
    "backoff_cap": 0.05,
    "rate_limit_cap": 0.05,
}

# Login-throttling counters must not outlive a test: an in-memory cache, even when REDIS_URL
# points the rest of the suite at Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
