"""The integration profile's lifecycle: Draft → Validated → Published, and the publish gate.

ServiceNow's rule, kept here once for the admin buttons, the OAuth callback and
``manage.py refresh --kind validate``: a profile is published only when its latest validation
passed for every enabled process, through the alias it uses now. Changing the processes sends a
profile back to Draft (``IntegrationProfile.save``), which makes the old validation stale.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ..connectors import ConnectionCheck, ConnectorError, ProcessCheck, get_connector
from ..models import IntegrationProfile, JobRun, Process, ProfileValidation
from .connections import (
    ORGANIZATION_CHECK,
    OrganizationTaken,
    record_check,
    refuse_taken_organization,
)


class PublishRefused(Exception):
    """Publishing was refused; ``reasons`` say what to fix, one sentence each."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__(" ".join(reasons))


def _run_checks(profile: IntegrationProfile, processes: list[str]) -> ConnectionCheck:
    try:
        connector = get_connector(profile.provider)
        # Without per-process checks of its own, a connector's connection check stands for
        # all (BaseConnector.check_processes).
        check = connector.check_processes(profile, processes)
    except ConnectorError as exc:
        check = ConnectionCheck(ok=False, message=str(exc), hint=exc.hint)
    if not check.checks:
        check.checks = [
            ProcessCheck(
                Process.DOWNLOAD,
                "connection",
                "Connection",
                ok=check.ok,
                detail=check.message or f"{check.organization_name} on plan {check.plan}",
                hint=check.hint,
            )
        ]
    return check


def _check_organization(profile: IntegrationProfile, check: ConnectionCheck) -> None:
    """One organization, one profile: a passing connection to an organization another
    profile holds fails validation, naming that profile."""
    try:
        refuse_taken_organization(profile, check)
    except OrganizationTaken as exc:
        check.ok = False
        check.message, check.hint = str(exc), exc.hint
        check.checks = [
            *check.checks,
            ProcessCheck(
                Process.DOWNLOAD,
                ORGANIZATION_CHECK,
                "One organization, one profile",
                ok=False,
                detail=str(exc),
                hint=exc.hint,
            ),
        ]


def validate(profile: IntegrationProfile, *, actor=None, run: JobRun | None = None):
    """Check every enabled process against the vendor and store the verdict. A passing
    validation moves a Draft profile to Validated; a failing one sends a Validated profile back
    to Draft (a published profile stays published: its daily refresh records its own failures,
    and unpublishing it would silently stop the refresh). Returns the ``ProfileValidation``."""
    processes = profile.enabled_processes()
    check = _run_checks(profile, processes)
    if check.ok:
        _check_organization(profile, check)
    passed = check.ok and all(item.ok for item in check.checks)
    with transaction.atomic():
        validation = ProfileValidation.objects.create(
            profile=profile,
            validated_by=actor if getattr(actor, "pk", None) else None,
            alias_id_checked=profile.alias_id,
            processes=processes,
            passed=passed,
            checks=[item.as_dict() for item in check.checks],
        )
        if passed:
            record_check(profile, check, run)
            moved = IntegrationProfile.objects.filter(
                pk=profile.pk, status=IntegrationProfile.Status.DRAFT
            ).update(status=IntegrationProfile.Status.VALIDATED, updated_at=timezone.now())
        else:
            moved = IntegrationProfile.objects.filter(
                pk=profile.pk, status=IntegrationProfile.Status.VALIDATED
            ).update(status=IntegrationProfile.Status.DRAFT, updated_at=timezone.now())
    if moved:
        profile.refresh_from_db(fields=["status"])
    if run is not None:
        failed = [f"{c['label']} ({c['process']}): {c['detail']}" for c in validation.failed_checks]
        run.warnings = [*run.warnings, *failed]
    return validation


def latest_validation(profile: IntegrationProfile) -> ProfileValidation | None:
    return (
        ProfileValidation.objects.filter(profile=profile).order_by("-validated_at", "-id").first()
    )


def publish_blockers(
    profile: IntegrationProfile, validation: ProfileValidation | None = None
) -> list[str]:
    """Why the profile may not be published now; empty when it may."""
    validation = validation if validation is not None else latest_validation(profile)
    if validation is None:
        return ["The profile has never been validated: press “Validate connection”."]
    reasons = []
    if not validation.passed:
        failed = ", ".join(
            f"{check['label']} ({Process(check['process']).label})"
            for check in validation.failed_checks
        )
        reasons.append(f"The latest validation failed: {failed}. Fix it and validate again.")
    if validation.processes != profile.enabled_processes():
        reasons.append(
            "The processes changed since the latest validation: validate again so the checks "
            "cover the processes enabled now."
        )
    if validation.alias_id_checked != profile.alias_id:
        reasons.append("The profile uses another alias since the latest validation.")
    return reasons


def publish(profile: IntegrationProfile) -> None:
    """Publish a profile whose latest validation passed (compare-and-set on the status it was
    read with, so a process toggled meanwhile wins). Raises :class:`PublishRefused`."""
    if profile.status == IntegrationProfile.Status.PUBLISHED:
        return
    reasons = publish_blockers(profile)
    if reasons:
        raise PublishRefused(reasons)
    won = IntegrationProfile.objects.filter(
        pk=profile.pk,
        status=profile.status,
        alias_id=profile.alias_id,
        activity_enabled=profile.activity_enabled,
        reclaim_enabled=profile.reclaim_enabled,
    ).update(status=IntegrationProfile.Status.PUBLISHED, updated_at=timezone.now())
    if not won:
        raise PublishRefused(["The profile changed meanwhile; reload the page and try again."])
    profile.refresh_from_db(fields=["status"])
    # The daily refresh starts from the next scheduled moment, not from the past.
    IntegrationProfile.objects.filter(pk=profile.pk).update(
        next_refresh_at=profile.compute_next_refresh()
    )


def return_to_draft(profile: IntegrationProfile) -> bool:
    """Unpublish: the daily refresh stops, and publishing needs a passing validation again."""
    moved = (
        IntegrationProfile.objects.filter(pk=profile.pk)
        .exclude(status=IntegrationProfile.Status.DRAFT)
        .update(status=IntegrationProfile.Status.DRAFT, updated_at=timezone.now())
    )
    profile.refresh_from_db(fields=["status"])
    return bool(moved)
