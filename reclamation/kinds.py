"""The job kinds the reclamation app adds to the core's registry (``sam_saas.jobkinds``),
registered in ``ReclamationConfig.ready()``. A leaf module: services import these values
without importing the app's registration."""

from django.db import models


class JobKind(models.TextChoices):
    CANDIDATES = "candidates", "Identify reclamation candidates"
    # The last step of each profile's daily refresh: the candidates of that profile only.
    PROFILE_CANDIDATES = "profile_candidates", "Identify the profile's candidates"
    RECLAIM = "reclaim", "Reclaim subscriptions"


# The task sender that removes one approved seat (``reclamation.tasks.reclaim_candidate``).
RECLAIM_CANDIDATE = "reclamation.reclaim_candidate"
