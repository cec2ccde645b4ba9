"""Admin login throttling.

Five failed sign-ins for one username from one address within 15 minutes lock that pair out
for 15 minutes: even the right password is refused until then, so guessing passwords through
the login page stops after five tries. Other users, and the same user from another address,
are not affected.

The counting happens in the authentication backend (``AUTHENTICATION_BACKENDS``), so every way
of signing in is throttled alike; the admin's login form (``admin.site.login_form``) checks the
lock first, so the person at the keyboard reads why they cannot sign in instead of "wrong
password".

Counters live in Django's cache. The in-memory default is per process: fine on a laptop, but
with several web processes each would count on its own, so production points the cache at
Redis (``CACHE_URL``, or ``REDIS_URL`` when no ``CACHE_URL`` is set).

Limits come from ``SAM_SETTINGS`` (``LOGIN_FAILURE_LIMIT``, ``LOGIN_FAILURE_WINDOW_SECONDS``,
``LOGIN_LOCKOUT_SECONDS``); ``TRUSTED_PROXY_COUNT`` says how many reverse proxies stand in
front of the web processes, so the address is read from X-Forwarded-For (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError

logger = logging.getLogger(__name__)

DEFAULTS = {
    "LOGIN_FAILURE_LIMIT": 5,
    "LOGIN_FAILURE_WINDOW_SECONDS": 15 * 60,
    "LOGIN_LOCKOUT_SECONDS": 15 * 60,
    "TRUSTED_PROXY_COUNT": 0,
}

LOCKED_MESSAGE = (
    "Too many failed sign-in attempts for this account from your address. Signing in is "
    "blocked for %(minutes)s more minute(s); try again later or ask an administrator."
)


def _setting(name: str) -> int:
    return int(getattr(settings, "SAM_SETTINGS", {}).get(name, DEFAULTS[name]))


def client_address(request) -> str:
    """The address the attempt came from.

    Without proxies (``TRUSTED_PROXY_COUNT`` 0, the default) it is REMOTE_ADDR and
    X-Forwarded-For is ignored: a client could forge one address per guess. Behind N trusted
    reverse proxies every request's REMOTE_ADDR is the last proxy, so one user's five wrong
    passwords would lock that username out for everyone; the client is then the N-th entry
    of X-Forwarded-For counted from the right, because each proxy appends what it saw and
    only the entries to the left of theirs can be written by the client. A header shorter
    than N did not come through all proxies: REMOTE_ADDR counts."""
    if request is None:
        return "unknown"
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    proxies = _setting("TRUSTED_PROXY_COUNT")
    if proxies <= 0:
        return remote
    forwarded = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    return forwarded[-proxies][:64]


class LoginThrottle:
    """Failed sign-ins of one (username, address) pair. Keys are hashed, so usernames (or a
    password typed into the username field) never reach the cache in clear."""

    def __init__(self, username: str, address: str):
        digest = hashlib.sha256(
            f"{(username or '').strip().lower()}\n{address}".encode()
        ).hexdigest()[:40]
        self.digest = digest
        self.address = address
        self.failures_key = f"sam:login-failures:{digest}"
        self.lock_key = f"sam:login-lock:{digest}"

    def locked_for(self) -> int:
        """Seconds until the lock ends (0: not locked)."""
        until = cache.get(self.lock_key)
        if until is None:
            return 0
        remaining = float(until) - time.time()
        return math.ceil(remaining) if remaining > 0 else 0

    def failed(self) -> bool:
        """Count a failure; returns True when it locked the pair."""
        window = _setting("LOGIN_FAILURE_WINDOW_SECONDS")
        # add() starts the window only on the first failure; incr() is atomic in Redis and in
        # the in-memory cache, so parallel guesses cannot slip past the limit.
        cache.add(self.failures_key, 0, timeout=window)
        try:
            count = cache.incr(self.failures_key)
        except ValueError:  # the window ended between add() and incr()
            cache.set(self.failures_key, 1, timeout=window)
            count = 1
        if count < _setting("LOGIN_FAILURE_LIMIT"):
            return False
        lockout = _setting("LOGIN_LOCKOUT_SECONDS")
        cache.set(self.lock_key, time.time() + lockout, timeout=lockout)
        cache.delete(self.failures_key)
        logger.warning(
            "admin sign-in locked for %s s after %s failed attempts (account key %s, from %s)",
            lockout,
            count,
            self.digest[:12],
            self.address,
        )
        return True

    def succeeded(self) -> None:
        cache.delete(self.failures_key)


def locked_error(seconds: int) -> ValidationError:
    return ValidationError(
        LOCKED_MESSAGE, code="locked", params={"minutes": max(1, math.ceil(seconds / 60))}
    )


class ThrottledModelBackend(ModelBackend):
    """Django's model backend, refusing a locked (username, address) pair before the password
    is checked, and counting every failed check."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        throttle = LoginThrottle(username, client_address(request))
        if throttle.locked_for():
            # authenticate() stops at PermissionDenied: no other backend is tried, and
            # user_login_failed is still sent.
            raise PermissionDenied("sign-in temporarily locked")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            throttle.failed()
        else:
            throttle.succeeded()
        return user


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin login form, saying "locked, try again in N minutes" instead of "wrong
    password" while the pair is locked (including right after the attempt that locked it)."""

    def clean(self):
        username = self.cleaned_data.get("username")
        throttle = LoginThrottle(username, client_address(self.request)) if username else None
        if throttle is not None and (seconds := throttle.locked_for()):
            raise locked_error(seconds)
        try:
            return super().clean()
        except ValidationError:
            if throttle is not None and (seconds := throttle.locked_for()):
                raise locked_error(seconds) from None
            raise
