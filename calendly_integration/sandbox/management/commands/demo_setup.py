"""Prepare a laptop demo: a demo login, and (with the Calendly app) a connected demo profile."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from sam_saas import permissions

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-sam-2026"


class Command(BaseCommand):
    help = "Create the demo login (local settings only) and print how to sign in."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("demo_setup is for local demos only (DEBUG is off).")
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@localhost"}
        )
        # A SAM manager, not a superuser: the demo shows what a manager really sees.
        user.is_staff = True
        user.is_superuser = False
        user.set_password(DEMO_PASSWORD)
        user.save()
        try:
            manager = Group.objects.get(name=permissions.MANAGER)
        except Group.DoesNotExist:
            raise CommandError(
                "The SAM manager group is missing: run `manage.py migrate`."
            ) from None
        user.groups.set([manager])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login {'created' if created else 'reset'}: open {options['url']} "
                f"and sign in as {DEMO_USERNAME} / {DEMO_PASSWORD}"
            )
        )
