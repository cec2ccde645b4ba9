"""Key rotation for encrypted fields."""

from __future__ import annotations

from django.apps import apps
from django.db import models, transaction
from django.db.models.functions import Cast

from .. import crypto
from ..fields import EncryptedTextField


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every concrete model with encrypted fields, across all installed apps."""
    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


def rotate_all(batch_size: int = 500) -> dict[str, int]:
    """Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS.

    Reads the raw ciphertext (a Cast to a plain text column skips decryption), rotates it and
    writes it back under a row lock, so a token refresh running at the same time is neither
    lost nor overwritten. Returns the number of values rotated per model."""
    counts: dict[str, int] = {}
    for model, names in encrypted_fields():
        label = model._meta.label
        counts[label] = 0
        raw_names = {name: f"_raw_{name}" for name in names}
        pks = list(model._default_manager.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(pks), batch_size):
            chunk = pks[start : start + batch_size]
            with transaction.atomic():
                rows = (
                    model._default_manager.select_for_update()
                    .filter(pk__in=chunk)
                    .annotate(
                        **{raw: Cast(name, models.TextField()) for name, raw in raw_names.items()}
                    )
                    .values("pk", *raw_names.values())
                )
                for row in rows:
                    changes = {
                        name: models.Value(crypto.rotate(row[raw]), output_field=models.TextField())
                        for name, raw in raw_names.items()
                        if row[raw]
                    }
                    if changes:
                        model._default_manager.filter(pk=row["pk"]).update(**changes)
                        counts[label] += len(changes)
    return counts
