"""Laptop settings: the embedded defaults a newcomer runs with ``make run``.

The fixed keys below are for local use only; production.py has no defaults for secrets.
"""

import os

from sam_saas.setting_guards import DEVELOPMENT_ENCRYPTION_KEY, DEVELOPMENT_SECRET_KEY

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, env

# The developer app (fake Calendly, demo, benchmarks); production settings never install it.
INSTALLED_APPS = [*INSTALLED_APPS, "calendly_integration.sandbox"]

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS",
    # A well-known development key: anything encrypted with it is not secret.
    default=[DEVELOPMENT_ENCRYPTION_KEY],
)

# requests-oauthlib refuses plain-http token URLs; the fake Calendly serves http on loopback.
# Never set this in production.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
