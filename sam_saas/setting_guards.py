"""What production refuses to start with, shared by ``production.py`` and the deploy checks.

The development and test settings carry keys that are published in this repository: anything
signed or encrypted with them is readable by everyone. Production refuses them, refuses a
malformed Fernet key (it would only fail at the first secret read, inside a request), and
requires ``PUBLIC_BASE_URL`` (without it, links in e-mails point at the laptop default).

Each function returns a message naming the variable to fix, or ``""`` when the value is fine.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# The keys written in config/settings/local.py and test.py. Never valid in production.
DEVELOPMENT_SECRET_KEY = "local-only-insecure-key-8d1f0c5e6b7a4f2e9c3d1a0b5e7f9c2d"
TEST_SECRET_KEY = "test-only-secret-key-not-for-production-use-0123456789"
DEVELOPMENT_ENCRYPTION_KEY = "bG9jYWwtZGV2ZWxvcG1lbnQta2V5LW5vdC1zZWNyZXQ="
TEST_ENCRYPTION_KEYS = (
    "dGVzdC1rZXktb25lLW5vdC1zZWNyZXQtMDEyMzQ1Njc=",
    "dGVzdC1rZXktdHdvLW5vdC1zZWNyZXQtMDEyMzQ1Njc=",
)
PUBLISHED_SECRET_KEYS = frozenset({DEVELOPMENT_SECRET_KEY, TEST_SECRET_KEY})
PUBLISHED_ENCRYPTION_KEYS = frozenset({DEVELOPMENT_ENCRYPTION_KEY, *TEST_ENCRYPTION_KEYS})


def secret_key_problem(value: str) -> str:
    if not value:
        return "DJANGO_SECRET_KEY is empty: set it to a long random value."
    if value in PUBLISHED_SECRET_KEYS:
        return (
            "DJANGO_SECRET_KEY is the development key published in this repository: set a "
            "long random value of your own (python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))')."
        )
    return ""


def encryption_keys_problem(keys: list[str]) -> str:
    from cryptography.fernet import Fernet

    if not keys or not all(k.strip() for k in keys):
        return "FIELD_ENCRYPTION_KEYS is empty: set it to at least one Fernet key."
    for position, key in enumerate(keys, start=1):
        if key.strip() in PUBLISHED_ENCRYPTION_KEYS:
            return (
                f"FIELD_ENCRYPTION_KEYS key {position} is a development key published in this "
                "repository: generate your own (python -c 'from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())')."
            )
        try:
            Fernet(key.strip())
        except (ValueError, TypeError):
            return (
                f"FIELD_ENCRYPTION_KEYS key {position} is not a valid Fernet key (32 bytes, "
                "url-safe base64, 44 characters)."
            )
    return ""


def public_base_url_problem(url: str) -> str:
    if not url:
        return (
            "PUBLIC_BASE_URL is not set: set it to where people reach this product "
            "(https://sam.example.com); links in e-mails start with it."
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"PUBLIC_BASE_URL must be an absolute http(s) URL, not {url!r}."
    return ""


def is_loopback_url(url: str) -> bool:
    import ipaddress

    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
