"""Settings shared by every environment.

Everything that differs between a laptop and a cluster is read through one ``environ.Env()``
so that the same variable names work everywhere (cookiecutter-django's layout).
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()
# A .env file is read only when DJANGO_READ_DOT_ENV_FILE is set (cookiecutter-django's rule),
# so a stray file never changes a deployment; real deployments set the environment instead.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Time zones: everything is stored in UTC; TIME_ZONE is the default zone for display and for the
# daily refresh of new profiles (each profile may choose its own).
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = True

# The embedded default is SQLite in the project folder, so a first run needs no server.
# PostgreSQL is used through the same variable: postgres://user@host:5432/name
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A busy timeout lets the inline worker and the web request share the file without
    # "database is locked" errors on a laptop.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "sam_saas",
    "calendly_integration",
    "reclamation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Django's model backend with login throttling: five failed sign-ins for one username from one
# address within 15 minutes lock that pair out for 15 minutes (sam_saas.security).
AUTHENTICATION_BACKENDS = ["sam_saas.security.ThrottledModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# E-mail: printed to the console unless EMAIL_URL says otherwise (smtp+tls://user:pw@host:587).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="SaaS License Management <sam@localhost>")

# Secrets at rest (client secrets, access and refresh tokens) are encrypted with MultiFernet:
# the first key encrypts, every key decrypts, so keys can be rotated without downtime
# (``python manage.py rotate_encryption_keys`` re-encrypts everything with the first key).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# Celery. With no broker configured, tasks run inline in the calling process, so the product
# works on a laptop without Redis. Setting CELERY_BROKER_URL or REDIS_URL turns on real workers.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
# A worker that dies mid-task gives the message back to the broker instead of dropping it.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60 * 60)
CELERY_TASK_TIME_LIMIT = env.int(
    "CELERY_TASK_TIME_LIMIT", default=CELERY_TASK_SOFT_TIME_LIMIT + 300
)
# With acks_late, Redis redelivers an unacknowledged task after the visibility timeout; it must
# exceed the hard time limit or long downloads would run twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int(
        "CELERY_BROKER_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 600
    )
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# The cache holds the login-throttling counters. In memory is per process: fine for one web
# process; with several, point CACHE_URL at Redis (redis://redis:6379/1) so they share counts.
# Without CACHE_URL, REDIS_URL is used when set.
CACHES = {"default": env.cache("CACHE_URL", default=REDIS_URL or "locmemcache://")}
CACHES["default"].setdefault("KEY_PREFIX", "sam")

# Admin login throttling and other product settings.
SAM_SETTINGS = {
    # Where people reach this product: the links in e-mails to seat holders start with it.
    "PUBLIC_BASE_URL": env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000"),
    "DEFAULT_ANALYZE_DAYS": 60,
    # Renewal right-sizing adds this much headroom to the seats in use (?headroom= overrides).
    "RIGHTSIZING_HEADROOM_PERCENT": env.int("RIGHTSIZING_HEADROOM_PERCENT", default=10),
    # The largest directory file the people import reads (sam_saas.services.people_csv).
    "PEOPLE_IMPORT_MAX_BYTES": env.int("PEOPLE_IMPORT_MAX_BYTES", default=20 * 1024 * 1024),
    "PEOPLE_IMPORT_MAX_ROWS": env.int("PEOPLE_IMPORT_MAX_ROWS", default=200_000),
    "LOGIN_FAILURE_LIMIT": 5,
    "LOGIN_FAILURE_WINDOW_SECONDS": 15 * 60,
    "LOGIN_LOCKOUT_SECONDS": 15 * 60,
    # Reverse proxies in front of the web processes: the login lockout then reads the client
    # address from X-Forwarded-For (sam_saas.security.client_address, docs/operations.md).
    "TRUSTED_PROXY_COUNT": env.int("TRUSTED_PROXY_COUNT", default=0),
    # A rule change or a people import re-judges the stored seats it can affect: inline up
    # to this many seats (well under a second), as an "Apply rules" job above it.
    "RULES_INLINE_MAX_SEATS": env.int("RULES_INLINE_MAX_SEATS", default=5000),
    # Beat's daily prune_job_runs keeps finished job results this many days (0: never prune).
    "JOB_RUN_RETENTION_DAYS": env.int("JOB_RUN_RETENTION_DAYS", default=180),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # requests-oauthlib and oauthlib log tokens at DEBUG: never let them.
        "requests_oauthlib": {"level": "INFO"},
        "oauthlib": {"level": "INFO"},
        "django.db.backends": {"level": "INFO"},
    },
}

# The OAuth callback URL registered in Calendly's developer portal. Empty: derived from the
# request (fine on a laptop); set it in production behind a proxy.
CALENDLY_REDIRECT_URI = env("CALENDLY_REDIRECT_URI", default="")

# Where the Calendly connector may send credentials (an alias's API and auth URLs): https on
# these hosts only. Outside production, loopback hosts (the fake Calendly) are allowed too.
CALENDLY_ALLOWED_HOSTS = env.list(
    "CALENDLY_ALLOWED_HOSTS", default=["api.calendly.com", "auth.calendly.com"]
)
CALENDLY_ALLOW_LOOPBACK = True

# Calendly client tuning (timeouts, retries, backoff). Tests shorten the waits.
CALENDLY_CLIENT = {
    "connect_timeout": env.float("CALENDLY_CONNECT_TIMEOUT", default=5.0),
    "read_timeout": env.float("CALENDLY_READ_TIMEOUT", default=30.0),
    "max_retries": env.int("CALENDLY_MAX_RETRIES", default=5),
}
