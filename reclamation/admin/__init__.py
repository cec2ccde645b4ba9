"""Reclamation's admin: rules (``rules``) and the candidate worklist (``candidates``).

Importing the package registers both with the admin site (Django autodiscovers
``reclamation.admin``)."""

from .candidates import ReclamationCandidateAdmin
from .rules import ReclamationRuleAdmin

__all__ = ["ReclamationCandidateAdmin", "ReclamationRuleAdmin"]
