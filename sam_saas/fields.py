"""Model fields for secrets.

``EncryptedTextField`` keeps only Fernet ciphertext in the database. Python code sees the
plaintext; the admin never renders it (see ``sam_saas.admin.forms.SecretField``).
"""

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """A text column holding ciphertext. Empty strings are stored as empty (nothing to hide),
    so "no secret set" stays distinguishable and queryable."""

    description = "Text encrypted at rest with MultiFernet"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return crypto.decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return crypto.encrypt(value)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("blank") is True:
            kwargs.pop("blank")
        if kwargs.get("default") == "":
            kwargs.pop("default")
        return name, path, args, kwargs
