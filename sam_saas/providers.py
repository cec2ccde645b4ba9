"""The vendors a profile or an alias may name: the providers of the installed connectors.

``connectors.register()`` fills it from each vendor app's ``AppConfig.ready()``.
``IntegrationProfile.provider`` and ``ConnectionAlias.provider`` take their choices and their
default from here through callables (as ``JobRun.kind`` does from ``jobkinds``), so a second
vendor is a new app and nothing else: no choice to add to the core, no migration.

This module imports nothing of the product (Django only), so models and migrations may import
it early (``connectors`` cannot be: it names the models in its signatures).
"""

from __future__ import annotations

from django.db import models

_labels: dict[str, str] = {}

# The model fields' message for a provider no installed connector handles.
UNKNOWN = (
    "No connector is installed for provider %(value)r; add the vendor's app to INSTALLED_APPS."
)


def add(value: str, label: str) -> None:
    _labels[str(value)] = str(label)


def remove(value: str) -> None:
    _labels.pop(str(value), None)


def choices() -> list[tuple[str, str]]:
    """The provider fields' choices: every installed connector, in registration order."""
    return list(_labels.items())


def default() -> str:
    """The provider a new profile or alias starts with: the first connector installed (the
    only one, in most installations)."""
    return next(iter(_labels), "")


def label(value: str) -> str:
    """The vendor's name for people ("Calendly"): its connector's label, else the stored
    value in title case."""
    return _labels.get(value) or value.title() or "the vendor"


class ProviderField(models.CharField):
    """The provider column of profiles and aliases: the installed connectors' providers as
    choices, the first of them as the default, and :data:`UNKNOWN` for any other value.

    Django gives a field with a callable default a hidden "initial" input in model forms, so
    that a form posted without it counts the field as changed; the default here is the same
    all along, so the admin's forms and change history treat the provider like any field."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("choices", choices)
        kwargs.setdefault("default", default)
        kwargs.setdefault("error_messages", {"invalid_choice": UNKNOWN})
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        return super().formfield(**{"show_hidden_initial": False, **kwargs})
