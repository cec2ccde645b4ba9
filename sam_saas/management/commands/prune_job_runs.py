"""``manage.py prune_job_runs --older-than DAYS``: the retention command for job results.

Beat runs it daily with ``JOB_RUN_RETENTION_DAYS``; the admin cannot delete job runs."""

from django.core.management.base import BaseCommand, CommandError

from sam_saas.services.retention import prune_job_runs


class Command(BaseCommand):
    help = (
        "Delete finished job runs older than DAYS, keeping the newest of each profile and "
        "kind. Open runs are never touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")

    def handle(self, *args, older_than, **options):
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day.")
        removed = prune_job_runs(older_than)
        self.stdout.write(f"Removed {removed} job runs older than {older_than} days.")
