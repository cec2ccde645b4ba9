"""The connector registry: how vendor-neutral code reaches a vendor without importing it.

A connector implements three processes (download subscriptions, pull activity, reclaim one
subscription) plus a connection check. Vendor apps register a factory from their
``AppConfig.ready()``; ``docs/connectors.md`` walks through adding one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

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


class Connector(Protocol):
    provider: str
    # Shown on the reclaim confirmation page: what removing a seat does at this vendor.
    reclaim_effect_text: str

    def validate_connection(self, profile: IntegrationProfile) -> ConnectionCheck: ...

    def check_processes(self, profile: IntegrationProfile, processes: list[str]) -> ConnectionCheck:
        """The publish gate's checks: for each process in ``processes`` (``models.Process``
        values), ask the vendor whether it would work, and return one ``ProcessCheck`` per
        check with a hint where it fails. Must not raise for a vendor refusal: a refusal is a
        failed check."""
        ...

    def download_subscriptions(self, profile: IntegrationProfile, job: JobRun) -> None: ...

    def pull_activity(self, profile: IntegrationProfile, job: JobRun) -> None: ...

    def reclaim_subscription(self, subscription: SoftwareSubscription) -> ReclaimOutcome: ...

    def latest_activity(self, subscription: SoftwareSubscription) -> datetime | None:
        """The holder's newest activity at the vendor since the recorded one: the final check
        right before a seat is removed."""
        ...

    def protection_reason(self, subscription: SoftwareSubscription) -> str:
        """Why the vendor will never let this seat be removed (e.g. the organization owner),
        or an empty string."""
        ...


_registry: dict[str, Callable[[], Connector]] = {}


def register(provider: str, factory: Callable[[], Connector]) -> None:
    _registry[provider] = factory


def get_connector(provider: str) -> Connector:
    try:
        return _registry[provider]()
    except KeyError:
        raise ConnectorError(
            f"No connector is installed for provider {provider!r}.",
            hint="Add the vendor's app to INSTALLED_APPS.",
        ) from None


def provider_label(provider: str) -> str:
    """The vendor's name for people ("Calendly"), for messages and e-mails."""
    from .models import Provider

    return dict(Provider.choices).get(provider) or provider.title() or "the vendor"
