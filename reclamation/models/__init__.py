"""Reclamation rules (``rules``), candidates (``candidates``) and the event trail of every
candidate's transitions (``events``). Django and the rest of the app import them from here."""

from .candidates import CLOSED_STATES, OPEN_STATES, CandidateState, ReclamationCandidate
from .events import CandidateEvent
from .rules import ReclamationRule, decision_terms

__all__ = [
    "CLOSED_STATES",
    "OPEN_STATES",
    "CandidateEvent",
    "CandidateState",
    "ReclamationCandidate",
    "ReclamationRule",
    "decision_terms",
]
