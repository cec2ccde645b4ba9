"""Laptop settings: the embedded defaults a newcomer runs with ``make run``.

The fixed keys below are for local use only; production.py has no defaults for secrets.
"""

import os

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, env

# The developer app (fake Calendly, demo, benchmarks); production settings never install it.
INSTALLED_APPS = [*INSTALLED_APPS, "calendly_integration.sandbox"]

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env(
    "DJANGO_SECRET_KEY", default="local-only-insecure-key-8d1f0c5e6b7a4f2e9c3d1a0b5e7f9c2d"
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS",
    # A well-known development key: anything encrypted with it is not secret.
    default=["bG9jYWwtZGV2ZWxvcG1lbnQta2V5LW5vdC1zZWNyZXQ="],
)

# requests-oauthlib refuses plain-http token URLs; the fake Calendly serves http on loopback.
# Never set this in production.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
