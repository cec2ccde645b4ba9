from django.core.management.base import BaseCommand, CommandError

from sam_saas.crypto import DecryptionError
from sam_saas.services.secrets import rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS. "
        "Put the new key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, *args, **options):
        try:
            counts = rotate_all()
        except DecryptionError as exc:
            raise CommandError(str(exc)) from exc
        total = sum(counts.values())
        for label, n in counts.items():
            self.stdout.write(f"{label}: {n} secret(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Rotated {total} secret(s) to the first key."))
