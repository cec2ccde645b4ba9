"""The connector registry: how vendor-neutral code reaches a vendor without importing it.

A connector is a :class:`BaseConnector` subclass: three processes (download subscriptions,
pull activity, reclaim one subscription) plus a connection check, with defaults for the rest
and one translation of the vendor's errors. Vendor apps register it from their
``AppConfig.ready()``; ``docs/connectors.md`` walks through adding one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from . import providers

if TYPE_CHECKING:
    from .models import IntegrationProfile, JobRun, SoftwareSubscription


class ConnectorError(Exception):
    """A vendor failure a connector reports to the job run. ``hint`` tells the operator what
    to do about it; ``retryable`` says whether trying again later may help."""

    hint = ""
    retryable = False

    def __init__(self, message: str, *, hint: str = "", retryable: bool | None = None):
        super().__init__(message)
        if hint:
            self.hint = hint
        if retryable is not None:
            self.retryable = retryable


@dataclass
class ReclaimOutcome:
    """What removing one seat at the vendor did."""

    class Result:
        REMOVED = "removed"
        ALREADY_GONE = "already_gone"
        REFUSED = "refused"

    result: str
    message: str = ""
    hint: str = ""


@dataclass
class ProcessCheck:
    """One check of one process during validation ("members listing: readable"). ``hint``
    says what to do when it failed; ``detail`` what was found either way."""

    process: str
    key: str
    label: str
    ok: bool
    detail: str = ""
    hint: str = ""

    def as_dict(self) -> dict:
        return {
            "process": self.process,
            "key": self.key,
            "label": self.label,
            "ok": self.ok,
            "detail": self.detail,
            "hint": self.hint,
        }


@dataclass
class ConnectionCheck:
    """The outcome of "Validate connection"."""

    ok: bool
    account: str = ""
    organization_uri: str = ""
    organization_name: str = ""
    plan: str = ""
    scopes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    message: str = ""
    hint: str = ""
    # Filled by ``check_processes``: one entry per check of each process asked for.
    checks: list[ProcessCheck] = field(default_factory=list)


DEFAULT_EFFECT_TEXT = "Removes the seat at the vendor through its API."

# The methods through which the core reaches a vendor: what escapes them as one of the
# connector's ``vendor_errors`` reaches the core as a ConnectorError.
TRANSLATED_METHODS = (
    "validate_connection",
    "check_processes",
    "download_subscriptions",
    "pull_activity",
    "latest_activity",
    "reclaim_subscription",
)


def _translating(method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except self.vendor_errors as exc:
            raise self.translate_error(exc) from exc

    wrapper.translates_vendor_errors = True
    return wrapper


class BaseConnector:
    """What a vendor app subclasses and registers (``register(provider, MyConnector)``).

    A connector implements three processes (download subscriptions, pull activity, reclaim
    one subscription) and a connection check; everything else has a default here, so the
    core calls every method without probing for it. Subclasses name their client's error
    family in ``vendor_errors``; :meth:`translate_error` turns one into a
    :class:`ConnectorError` (message, hint, retryable) in one place, for every method in
    ``TRANSLATED_METHODS``, so the vendor code raises its own errors and never converts them.
    """

    provider: str = ""
    # The vendor's name for people ("Calendly"), in messages and e-mails.
    label: str = ""
    # Shown on the reclaim confirmation page: what removing a seat does at this vendor.
    reclaim_effect_text: str = DEFAULT_EFFECT_TEXT
    # The exceptions of the vendor's client that mean "the vendor said no / was away".
    vendor_errors: tuple[type[Exception], ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in TRANSLATED_METHODS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "translates_vendor_errors", False):
                setattr(cls, name, _translating(method))

    def translate_error(self, exc: Exception) -> ConnectorError:
        return ConnectorError(
            str(exc), hint=getattr(exc, "hint", ""), retryable=getattr(exc, "retryable", False)
        )

    # -- the three processes and the connection check: every connector writes these --------
    def validate_connection(self, profile: IntegrationProfile) -> ConnectionCheck:
        raise NotImplementedError

    def download_subscriptions(self, profile: IntegrationProfile, job: JobRun) -> None:
        """Store every seat of the profile's organization; all or nothing."""
        raise NotImplementedError

    def pull_activity(self, profile: IntegrationProfile, job: JobRun) -> None:
        """Move each seat's last activity forward from what the vendor reports."""
        raise NotImplementedError

    def reclaim_subscription(self, subscription: SoftwareSubscription) -> ReclaimOutcome:
        """Remove one seat at the vendor; an answer the vendor gives is an outcome, not an
        exception (REFUSED with its message, ALREADY_GONE when it was not there)."""
        raise NotImplementedError

    # -- optional: the defaults say "this vendor has no such thing" -------------------------
    def check_processes(self, profile: IntegrationProfile, processes: list[str]) -> ConnectionCheck:
        """The publish gate's checks: for each process in ``processes`` (``models.Process``
        values), ask the vendor whether it would work, and return one ``ProcessCheck`` per
        check with a hint where it fails. A refusal is a failed check, not an exception.
        By default the connection check stands for every process."""
        return self.validate_connection(profile)

    def latest_activity(self, subscription: SoftwareSubscription) -> datetime | None:
        """The holder's newest activity at the vendor since the recorded one: the final check
        right before a seat is removed. None: nothing newer (or the vendor cannot tell)."""
        return None

    def protection_reason(self, subscription: SoftwareSubscription) -> str:
        """Why the vendor will never let this seat be removed (e.g. the organization owner),
        or an empty string."""
        return ""

    def protection_expression(self, profile: IntegrationProfile):
        """:meth:`protection_reason` as an SQL expression over a stored seat of ``profile``
        (a text, "" for none), so re-judging a million stored seats stays one statement.
        A connector that overrides :meth:`protection_reason` overrides this too; one that
        does not is re-judged seat by seat in Python (None here)."""
        if type(self).protection_reason is BaseConnector.protection_reason:
            from django.db.models import CharField, Value

            return Value("", output_field=CharField())
        return None

    def connect_url(self, profile: IntegrationProfile) -> str | None:
        """Where "Connect" starts the vendor's OAuth flow for this profile; None when the
        profile's alias needs no browser consent (tokens pasted by hand)."""
        return None

    def oauth_redirect_url(self, request) -> str | None:
        """The callback URL to register in the vendor's developer portal; None without OAuth."""
        return None


_registry: dict[str, Callable[[], BaseConnector]] = {}


def register(provider: str, factory: Callable[[], BaseConnector], *, label: str = "") -> None:
    """Install a vendor's connector. ``label`` (default: the factory's ``label``, e.g. the
    connector class's) names the vendor in messages and in the provider fields' choices."""
    _registry[provider] = factory
    providers.add(provider, label or getattr(factory, "label", "") or provider.title())


def unregister(provider: str) -> None:
    """Take a connector out (tests that simulate a vendor app that is not installed)."""
    _registry.pop(provider, None)
    providers.remove(provider)


def get_connector(provider: str) -> BaseConnector:
    try:
        return _registry[provider]()
    except KeyError:
        raise ConnectorError(
            f"No connector is installed for provider {provider!r}.",
            hint="Add the vendor's app to INSTALLED_APPS.",
        ) from None


def provider_label(provider: str) -> str:
    """The vendor's name for people ("Calendly"), for messages and e-mails: the connector's
    label, else the provider's stored name."""
    return providers.label(provider)
