from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ... import demo


class Command(BaseCommand):
    help = (
        "Connect a demo profile to a running fake Calendly (manage.py calendly_sandbox), import "
        "a demo directory and run the download and activity pull. Local demos only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8765")
        parser.add_argument("--token", required=True, help="The fake's admin access token.")

    def handle(self, *args, url, token, **options):
        if not settings.DEBUG:
            raise CommandError("calendly_demo is for local demos only (DEBUG is off).")
        profile = demo.set_up(url.rstrip("/"), token, self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo profile ready: {profile}"))
