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
    """A profile gets its reviewable rule on its first download; the open candidates of seats
    that vanished at the vendor close at once, and candidates waiting for a user whose seat
    now matches a person return to Ready."""
    from .services.premises import close_vanished
    from .services.rules import ensure_rule
    from .services.sweeps import resolve_attention

    ensure_rule(profile)
    close_vanished(profile)
    resolve_attention(profile=profile)


def resolve_after_rejudge(sender, profile_ids=None, **kwargs) -> None:
    """``seats_rejudged`` (a people import, a resolution rule): candidates in Attention
    Required for want of a user whose seat now matches a person return to Ready at once.
    Returns None: it closes nothing (the signal's receivers report what they closed)."""
    from .services.sweeps import resolve_attention

    resolve_attention(profiles=None if profile_ids is None else list(profile_ids))


class ReclamationConfig(AppConfig):
    """Reclamation rules, candidates, approvals and reclaiming. Vendor-neutral: vendors are
    reached through ``sam_saas.connectors`` only."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reclamation"
    verbose_name = "Reclamation"

    def ready(self):
        from django.db.models.signals import pre_delete

        from sam_saas import extensions, permissions
        from sam_saas.models import IntegrationProfile
        from sam_saas.signals import download_completed, keep_lifted, seats_rejudged

        from . import dashboard, figures, jobs, profile_pages, reports
        from .services import decisions, premises, stored_preview

        jobs.register()
        pre_delete.connect(
            close_candidates_of_removed_profile,
            sender=IntegrationProfile,
            dispatch_uid="reclamation.close_candidates_of_removed_profile",
        )
        download_completed.connect(after_download, dispatch_uid="reclamation.after_download")
        seats_rejudged.connect(premises.after_rejudge, dispatch_uid="reclamation.after_rejudge")
        seats_rejudged.connect(resolve_after_rejudge, dispatch_uid="reclamation.resolve_attention")
        keep_lifted.connect(decisions.on_keep_lifted, dispatch_uid="reclamation.on_keep_lifted")
        # What the core shows of reclamation: reports, dashboard tiles, charts and columns,
        # and the figures behind them (sam_saas.extensions).
        reports.register()
        dashboard.register()
        profile_pages.register()
        extensions.register_stale_thresholds(figures.stale_thresholds)
        extensions.register_savings_source(figures.savings_by_position)
        extensions.register_stale_differences(figures.stale_differences_by_profile)
        figures.register_refreshes()
        stored_preview.register()
        # The live copy of migration 0002's mapping, for ``sync_permission_groups()``.
        permissions.grant(permissions.MANAGER, "reclamation", "*")
        permissions.grant(permissions.APPROVER, "reclamation", "view_*")
        permissions.grant(permissions.APPROVER, "reclamation", "approve_reclamationcandidate")
        permissions.grant(permissions.VIEWER, "reclamation", "view_*")
        permissions.grant(permissions.INTEGRATOR, "reclamation", "view_*")
        permissions.describe(
            permissions.MANAGER,
            "Reviews reclamation rules, approves, rejects and reclaims candidates.",
        )
        permissions.describe(
            permissions.APPROVER,
            "Approves and rejects reclamation candidates; it cannot reclaim or change rules.",
        )
        permissions.describe(
            permissions.INTEGRATOR,
            "Cannot approve, reject or reclaim reclamation candidates, nor change the rules.",
        )
