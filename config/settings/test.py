"""Test settings: fast hashing, inline tasks, an in-memory mail outbox.

DATABASE_URL and REDIS_URL still come from the environment, so CI runs the same suite on
PostgreSQL and Redis while a newcomer runs it on SQLite.
"""

from .base import *  # noqa: F403
from .base import BASE_DIR, DATABASES, env

DEBUG = False
SECRET_KEY = "test-only-secret-key-not-for-production-use-0123456789"
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
FIELD_ENCRYPTION_KEYS = [
    "dGVzdC1rZXktb25lLW5vdC1zZWNyZXQtMDEyMzQ1Njc=",
    "dGVzdC1rZXktdHdvLW5vdC1zZWNyZXQtMDEyMzQ1Njc=",
]
# Tests call tasks inline unless a test starts a real worker (those override this).
CELERY_TASK_ALWAYS_EAGER = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}
REQUIRE_SERVICES = env.bool("REQUIRE_SERVICES", default=False)
