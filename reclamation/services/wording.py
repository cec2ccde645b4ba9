"""How the workflow names a vendor and what removing a seat does there, in words shared by
the confirmation pages, the candidate messages and the e-mails."""

from __future__ import annotations

from sam_saas.connectors import DEFAULT_EFFECT_TEXT, ConnectorError, get_connector, provider_label

from ..models import ReclamationCandidate

__all__ = ["effect_text", "manual_text", "provider_label", "state_labels"]


def effect_text(provider: str) -> str:
    """What reclaiming does at this vendor, from the connector's ``reclaim_effect_text``
    (Calendly: the seat stays billed until the seat count is lowered)."""
    try:
        return get_connector(provider).reclaim_effect_text
    except ConnectorError:
        return DEFAULT_EFFECT_TEXT


def manual_text(provider: str) -> str:
    label = provider_label(provider)
    return (
        f"Reclaiming is off for this profile: remove the seat in {label}, then close "
        "the candidate with “Close complete (removed by hand)”."
    )


def state_labels(states) -> str:
    names = dict(ReclamationCandidate.State.choices)
    return " or ".join(str(names[s]) for s in states)
