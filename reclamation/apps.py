from django.apps import AppConfig


def close_candidates_of_removed_profile(sender, instance, **kwargs):
    """Removing a profile closes its open candidates as Closed Skipped (its rule is kept by
    ``SET_NULL``). Runs before the delete, while the candidates still point at the profile;
    claimed ones too, since their seat can no longer be reached."""
    from .models import OPEN_STATES, ReclamationCandidate
    from .services.transitions import transition

    note = f"The integration profile “{instance.name}” was removed."
    transition(
        ReclamationCandidate.objects.filter(profile=instance, state__in=OPEN_STATES),
        OPEN_STATES,
        ReclamationCandidate.State.CLOSED_SKIPPED,
        None,
        note,
        label="profile removal",
        claimed=True,
        updates={"message": note},
    )


def after_download(sender, profile, run, **kwargs):
    """A profile gets its reviewable rule on its first download, and the open candidates of
    seats that vanished at the vendor close as Closed Skipped at once."""
    from .services.identification import close_vanished
    from .services.rules import ensure_rule

    ensure_rule(profile)
    close_vanished(profile)


class ReclamationConfig(AppConfig):
    """Reclamation rules, candidates, approvals and reclaiming. Vendor-neutral: vendors are
    reached through ``sam_saas.connectors`` only."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reclamation"
    verbose_name = "Reclamation"

    def ready(self):
        from django.db.models.signals import pre_delete

        from sam_saas import permissions
        from sam_saas.models import IntegrationProfile, JobRun
        from sam_saas.services import jobs
        from sam_saas.signals import download_completed, keep_lifted

        from .services import decisions, identification, reclaiming

        jobs.register_handler(JobRun.Kind.CANDIDATES, identification.run_identification_job)
        jobs.register_handler(JobRun.Kind.RECLAIM, reclaiming.run_reclaim_job)
        pre_delete.connect(
            close_candidates_of_removed_profile,
            sender=IntegrationProfile,
            dispatch_uid="reclamation.close_candidates_of_removed_profile",
        )
        download_completed.connect(after_download, dispatch_uid="reclamation.after_download")
        keep_lifted.connect(decisions.on_keep_lifted, dispatch_uid="reclamation.on_keep_lifted")
        # The live copy of migration 0002's mapping, for ``sync_permission_groups()``.
        permissions.grant(permissions.MANAGER, "reclamation", "*")
        permissions.grant(permissions.APPROVER, "reclamation", "view_*")
        permissions.grant(permissions.APPROVER, "reclamation", "approve_reclamationcandidate")
        permissions.grant(permissions.VIEWER, "reclamation", "view_*")
