"""The product's permission groups: SAM manager, SAM approver, SAM integrator, SAM viewer.

``GROUP_PERMISSIONS`` maps a group to ``(app_label, codename pattern)`` pairs; patterns are
shell-style (``*`` = any run, ``view_*`` = every view permission). Later apps extend it with
``grant()`` (e.g. reclamation lets approvers approve candidates) and call
``sync_permission_groups()`` from a data migration or ``post_migrate``.

Syncing only *adds* permissions: a permission granted to a group by hand is never taken away.
The data migration ``0002_permission_groups`` holds a frozen copy of the initial mapping.
"""

from fnmatch import fnmatchcase

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS

MANAGER = "SAM manager"
APPROVER = "SAM approver"
INTEGRATOR = "SAM integrator"
VIEWER = "SAM viewer"

GROUP_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    MANAGER: [("sam_saas", "*")],
    APPROVER: [("sam_saas", "view_*")],
    # ServiceNow's sam_integrator: sets up the connections, decides nothing about seats.
    INTEGRATOR: [
        ("sam_saas", "view_*"),
        ("sam_saas", "add_integrationprofile"),
        ("sam_saas", "change_integrationprofile"),
        ("sam_saas", "add_connectionalias"),
        ("sam_saas", "change_connectionalias"),
    ],
    VIEWER: [("sam_saas", "view_*")],
}

# What each group may do, in words, shown on its admin page. Apps add their sentences with
# ``describe()`` (the reclamation app says who approves), as they add permissions with grant().
GROUP_DESCRIPTIONS: dict[str, list[str]] = {
    MANAGER: [
        "Runs SaaS License Management: creates, edits and deletes integration profiles, "
        "connection aliases, software models, rules, entitlements and people; maps "
        "unrecognized identifiers; corrects seats by hand; runs every job.",
    ],
    APPROVER: ["Sees everything; changes nothing in the set-up."],
    INTEGRATOR: [
        "Connects vendors: creates and edits integration profiles and connection aliases, "
        "connects, validates and publishes profiles and runs their refreshes. Sees everything "
        "else, and changes nothing else.",
    ],
    VIEWER: ["Sees everything, changes nothing."],
}
# For every group: the history cannot be rewritten by anyone.
AUDIT_SENTENCE = (
    "Nobody, superusers included, edits or deletes job results or candidate events in the "
    "admin, or deletes a seat that came from the vendor."
)


def describe(group: str, sentence: str) -> None:
    """Add a sentence to a group's description (idempotent)."""
    sentences = GROUP_DESCRIPTIONS.setdefault(group, [])
    if sentence not in sentences:
        sentences.append(sentence)


def description_of(group_name: str) -> str:
    sentences = GROUP_DESCRIPTIONS.get(group_name)
    if not sentences:
        return "A group made by hand: it may do what its permissions below say."
    return " ".join([*sentences, AUDIT_SENTENCE])


def grant(group: str, app_label: str, pattern: str) -> None:
    """Add ``(app_label, pattern)`` to a group's mapping (idempotent)."""
    rules = GROUP_PERMISSIONS.setdefault(group, [])
    if (app_label, pattern) not in rules:
        rules.append((app_label, pattern))


def matching_permissions(rules, using: str = DEFAULT_DB_ALIAS):
    """The ``Permission`` rows matched by ``rules`` (a list of (app_label, pattern))."""
    from django.contrib.auth.models import Permission

    app_labels = {app_label for app_label, _ in rules}
    candidates = (
        Permission.objects.using(using)
        .filter(content_type__app_label__in=app_labels)
        .select_related("content_type")
    )
    return [
        perm
        for perm in candidates
        if any(
            perm.content_type.app_label == app_label and fnmatchcase(perm.codename, pattern)
            for app_label, pattern in rules
        )
    ]


def sync_permission_groups(
    mapping: dict[str, list[tuple[str, str]]] | None = None, using: str = DEFAULT_DB_ALIAS
) -> dict[str, int]:
    """Create the groups and give them their permissions. Idempotent.

    Permissions are created first for the apps involved (they normally appear only after
    ``migrate`` finishes). Returns ``{group name: number of permissions matched}``."""
    from django.contrib.auth.models import Group

    mapping = GROUP_PERMISSIONS if mapping is None else mapping
    for app_label in {app_label for rules in mapping.values() for app_label, _ in rules}:
        if app_label in global_apps.app_configs:
            create_permissions(global_apps.get_app_config(app_label), verbosity=0, using=using)
    counts = {}
    for name, rules in mapping.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        permissions = matching_permissions(rules, using=using)
        group.permissions.add(*permissions)
        counts[name] = len(permissions)
    return counts


def sync_after_migrate(sender=None, using=DEFAULT_DB_ALIAS, **kwargs):
    """``post_migrate`` receiver: models added after migration 0002 (and other apps'
    ``grant()``s) reach the groups on the next ``migrate``. Connect it in
    ``SamSaasConfig.ready()`` with ``sender=self``."""
    sync_permission_groups(using=using)
