"""The vendor-neutral SAM domain models, one module per concern."""

from .catalog import Publisher, SoftwareModel, SubscriptionIdentifier
from .choices import Process
from .connections import ConnectionAlias
from .entitlements import Entitlement
from .figures import StoredFigures
from .jobs import JobRun
from .people import Person
from .positions import LicencePositionSnapshot
from .profiles import IntegrationProfile
from .rules import (
    SubscriptionIdentifierExclusionRule,
    SubscriptionUserExclusionRule,
    UserResolutionRule,
)
from .subscriptions import KeepDecision, SoftwareSubscription
from .validations import ProfileValidation

__all__ = [
    "ConnectionAlias",
    "Entitlement",
    "IntegrationProfile",
    "JobRun",
    "LicencePositionSnapshot",
    "Person",
    "Process",
    "ProfileValidation",
    "Publisher",
    "SoftwareModel",
    "SoftwareSubscription",
    "StoredFigures",
    "KeepDecision",
    "SubscriptionIdentifier",
    "SubscriptionIdentifierExclusionRule",
    "SubscriptionUserExclusionRule",
    "UserResolutionRule",
]
