"""``manage.py refresh [NAME ...] [--process ...]``: run jobs synchronously and print results.

The same service functions as the Celery tasks and the admin buttons run here, in-process."""

from django.core.management.base import BaseCommand, CommandError

from sam_saas import jobkinds
from sam_saas.models import IntegrationProfile, JobRun
from sam_saas.services import jobs


def describe(run: JobRun) -> str:
    scope = run.profile.name if run.profile_id else "all profiles"
    line = (
        f"{run.get_kind_display()} · {scope}: {run.get_status_display().upper()} "
        f"fetched={run.fetched} created={run.created} updated={run.updated} "
        f"removed={run.removed} unmatched={run.unmatched} api_calls={run.api_calls} "
        f"rate_limit_waits={run.rate_limit_waits}"
    )
    if run.duration is not None:
        line += f" in {run.duration.total_seconds():.1f}s"
    for warning in run.warnings:
        line += f"\n  warning: {warning}"
    if run.status == JobRun.Status.FAILED:
        line += f"\n  error: {run.error_class}: {run.error_message}\n  hint: {run.hint}"
    return line


class Command(BaseCommand):
    help = "Run a profile's processes now (synchronously) and print the job results."

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help="Profile names; default: every published one.")
        parser.add_argument(
            "--process",
            # Every kind an installed app registered: per profile (download, activity,
            # validate) or once for all profiles (reconcile; candidates, reclaim).
            choices=[kind.value for kind in jobkinds.registered()],
            default=JobRun.Kind.DOWNLOAD.value,
        )

    def handle(self, *args, names, process, **options):
        runs = []
        if jobkinds.get(process).is_global:
            runs.append(self._run(None, process))
        else:
            profiles = IntegrationProfile.objects.select_related("alias").order_by("name")
            if names:
                profiles = list(profiles.filter(name__in=names))
                missing = sorted(set(names) - {p.name for p in profiles})
                if missing:
                    raise CommandError(f"No such profile: {', '.join(missing)}")
            else:
                profiles = list(profiles.filter(status=IntegrationProfile.Status.PUBLISHED))
                if not profiles:
                    raise CommandError("No published profile to refresh.")
            runs = [self._run(p, process) for p in profiles]
        failed = [r for r in runs if r.status != JobRun.Status.SUCCEEDED]
        if failed:
            raise CommandError(f"{len(failed)} of {len(runs)} job(s) failed.")

    def _run(self, profile, kind):
        try:
            run = jobs.run_now(profile, kind, JobRun.Trigger.COMMAND)
        except jobs.JobAlreadyOpen as exc:
            raise CommandError(
                f"{exc.existing} is already queued or running; wait for it to finish."
            ) from exc
        writer = self.stdout if run.status == JobRun.Status.SUCCEEDED else self.stderr
        writer.write(describe(run))
        return run
