"""Reclamation's admin: rules (``rules``), the candidate worklist (``candidates``) and the
"Propose for reclamation" action it adds to the core's subscription list (``proposals``).

Importing the package registers them with the admin site (Django autodiscovers
``reclamation.admin``, after ``sam_saas.admin``, which is earlier in INSTALLED_APPS)."""

from . import proposals
from .candidates import ReclamationCandidateAdmin
from .rules import ReclamationRuleAdmin

proposals.register()

__all__ = ["ReclamationCandidateAdmin", "ReclamationRuleAdmin"]
