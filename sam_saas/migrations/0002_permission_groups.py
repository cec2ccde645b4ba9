"""Create the groups "SAM manager", "SAM approver" and "SAM viewer".

A frozen copy of the initial mapping in ``sam_saas.permissions`` (a migration must not depend
on the live module, which later apps extend). Permissions are normally created only after
``migrate`` finishes, so they are created here first: the standard trick of calling
``create_permissions`` with the historical app registry. Idempotent.
"""

from fnmatch import fnmatchcase

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "SAM manager": "*",
    "SAM approver": "view_*",
    "SAM viewer": "view_*",
}


def create_groups(apps, schema_editor):
    using = schema_editor.connection.alias
    app_config = apps.get_app_config("sam_saas")
    app_config.models_module = True
    try:
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
    finally:
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = list(Permission.objects.using(using).filter(content_type__app_label="sam_saas"))
    for name, pattern in GROUPS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        group.permissions.add(*[p for p in permissions if fnmatchcase(p.codename, pattern)])


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sam_saas", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_groups, migrations.RunPython.noop),
    ]
