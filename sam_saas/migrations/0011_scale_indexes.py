"""Indexes for a million seats: the changelists' orders and filter choices (all databases),
and trigram GIN indexes for e-mail and name search (PostgreSQL only, see
``sam_saas.admin.search``).

The trigram indexes index ``UPPER(column)``, which is what Django's ``icontains`` compiles to
on PostgreSQL, so the admin's search uses them without special lookups. ``pg_trgm`` is a
trusted extension (PostgreSQL 13+): the database owner may create it; nothing to do on SQLite.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

TRIGRAM_INDEXES = (
    ("sam_sub_upn_trgm", "sam_saas_softwaresubscription", "user_principal_name"),
    ("sam_sub_user_name_trgm", "sam_saas_softwaresubscription", "user_name"),
    ("sam_person_email_trgm", "sam_saas_person", "email"),
    ("sam_person_name_trgm", "sam_saas_person", "name"),
)


class PostgreSQLOnly(migrations.RunSQL):
    """RunSQL that does nothing on other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("sam_saas", "0010_person_missing_since"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="jobrun",
            index=models.Index(fields=["queued_at"], name="sam_jobrun_queued_idx"),
        ),
        migrations.AddIndex(
            model_name="softwaresubscription",
            index=models.Index(
                fields=["profile", "user_principal_name"], name="sam_sub_profile_upn_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="softwaresubscription",
            index=models.Index(fields=["role"], name="sam_sub_role_idx"),
        ),
        TrigramExtension(),
        *(
            PostgreSQLOnly(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                f"USING gin ((UPPER({column}::text)) gin_trgm_ops)",
                f"DROP INDEX IF EXISTS {name}",
            )
            for name, table, column in TRIGRAM_INDEXES
        ),
    ]
