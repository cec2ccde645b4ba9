"""Give the SAM groups their reclamation permissions.

SAM manager: every reclamation permission. SAM approver: view everything and approve/reject
candidates. SAM viewer: view only. A frozen copy of what ``ReclamationConfig.ready()`` adds to
``sam_saas.permissions.GROUP_PERMISSIONS`` (a migration must not depend on live code).
Permissions are created first with the historical registry, as in ``sam_saas`` 0002. Only adds:
permissions granted by hand are never taken away. Idempotent.
"""

from fnmatch import fnmatchcase

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "SAM manager": ["*"],
    "SAM approver": ["view_*", "approve_reclamationcandidate"],
    "SAM viewer": ["view_*"],
}


def grant(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("reclamation")
    app_config.models_module = True
    try:
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
    finally:
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(
        Permission.objects.using(using).filter(content_type__app_label="reclamation")
    )
    for name, patterns in GROUPS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.add(
            *[p for p in permissions if any(fnmatchcase(p.codename, pat) for pat in patterns)]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sam_saas", "0002_permission_groups"),
        ("reclamation", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
