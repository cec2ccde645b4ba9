"""``manage.py create_calendly_profile NAME (--token T | --client-id ID --client-secret S)``."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse

from sam_saas.models import ConnectionAlias, IntegrationProfile
from sam_saas.services import lifecycle
from sam_saas.services.connections import ORGANIZATION_CHECK

from ...constants import PROVIDER


class Command(BaseCommand):
    help = (
        "Create a Calendly integration profile. With --token: a published profile on its own "
        "personal-access-token alias, validated at once. With --client-id/--client-secret (or "
        "--parent): an OAuth profile, and the URL that connects it."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--token", help="A Calendly personal access token.")
        parser.add_argument("--client-id")
        parser.add_argument("--client-secret")
        parser.add_argument("--parent", help="An existing parent alias holding the OAuth app.")
        parser.add_argument("--api-url", default="", help="Default: https://api.calendly.com")
        parser.add_argument("--auth-url", default="", help="Default: https://auth.calendly.com")
        parser.add_argument(
            "--site-url", default="http://127.0.0.1:8000", help="Where this product is served."
        )
        parser.add_argument(
            "--no-validate", action="store_true", help="Do not call Calendly now (token mode)."
        )

    def handle(self, *args, name, token, client_id, client_secret, parent, **opts):
        if IntegrationProfile.objects.filter(name=name).exists():
            raise CommandError(f"A profile named {name!r} already exists.")
        if ConnectionAlias.objects.filter(name=name).exists():
            raise CommandError(f"An alias named {name!r} already exists.")
        if token and (client_id or client_secret or parent):
            raise CommandError("Give either --token or the OAuth options, not both.")
        if token:
            return self._personal_token(name, token, opts)
        if parent or (client_id and client_secret):
            return self._oauth(name, client_id, client_secret, parent, opts)
        raise CommandError("Give --token, or --client-id and --client-secret, or --parent.")

    def _personal_token(self, name, token, opts):
        with transaction.atomic():
            alias = ConnectionAlias.objects.create(
                name=name,
                provider=PROVIDER,
                auth_type=ConnectionAlias.AuthType.PERSONAL_TOKEN,
                api_base_url=opts["api_url"],
                access_token=token,
            )
            profile = IntegrationProfile.objects.create(name=name, provider=PROVIDER, alias=alias)
        self.stdout.write(f"Created draft profile {name!r} on alias {alias.name!r}.")
        if opts["no_validate"]:
            return
        validation = lifecycle.validate(profile)
        taken = next(
            (c for c in validation.checks if c["key"] == ORGANIZATION_CHECK and not c["ok"]), None
        )
        if taken:
            # One organization, one profile: nothing is left behind for the refused one.
            profile.delete()
            alias.delete()
            raise CommandError(f"{taken['detail']}\nHint: {taken['hint']}")
        for check in validation.checks:
            mark = "ok  " if check["ok"] else "FAIL"
            line = f"  {mark} {check['label']} ({check['process']}): {check['detail']}"
            if check["hint"]:
                line += f"\n       hint: {check['hint']}"
            self.stdout.write(line)
        if not validation.passed:
            raise CommandError(
                "The profile was created as a draft, but validation failed (see above); fix "
                "it, then press “Validate connection” and “Publish” on the profile page."
            )
        lifecycle.publish(profile)
        self.stdout.write(
            self.style.SUCCESS(
                f"Validated and published: {profile.organization_name} "
                f"(plan {profile.organization_plan})."
            )
        )

    def _oauth(self, name, client_id, client_secret, parent_name, opts):
        with transaction.atomic():
            if parent_name:
                try:
                    parent = ConnectionAlias.objects.get(name=parent_name, parent__isnull=True)
                except ConnectionAlias.DoesNotExist:
                    raise CommandError(f"No top-level alias named {parent_name!r}.") from None
                if client_id or client_secret:
                    parent.client_id = client_id or parent.client_id
                    parent.client_secret = client_secret or parent.client_secret
                    parent.save()
            else:
                parent = ConnectionAlias.objects.create(
                    name=f"{name} (OAuth app)",
                    provider=PROVIDER,
                    auth_type=ConnectionAlias.AuthType.OAUTH2,
                    api_base_url=opts["api_url"],
                    auth_base_url=opts["auth_url"],
                    client_id=client_id,
                    client_secret=client_secret,
                )
            alias = ConnectionAlias.objects.create(
                name=name,
                parent=parent,
                provider=PROVIDER,
                auth_type=ConnectionAlias.AuthType.OAUTH2,
                api_base_url=opts["api_url"] if parent_name else "",
                auth_base_url=opts["auth_url"] if parent_name else "",
            )
            profile = IntegrationProfile.objects.create(name=name, provider=PROVIDER, alias=alias)
        site = opts["site_url"].rstrip("/")
        self.stdout.write(
            f"Created draft profile {name!r} on child alias {alias.name!r} of {parent.name!r}.\n"
            f"Register this redirect URL in Calendly's developer portal: "
            f"{site}{reverse('calendly:oauth-callback')}\n"
            f"Then open this URL (signed in to the admin) to connect it:\n"
            f"{site}{reverse('calendly:connect-profile', args=[profile.pk])}"
        )
