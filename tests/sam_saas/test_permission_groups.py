"""The permission groups: created by migration 0002, kept in sync by
``sam_saas.permissions.sync_permission_groups`` (which later apps extend)."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from sam_saas import permissions
from sam_saas.permissions import APPROVER, MANAGER, VIEWER, sync_permission_groups

# The models of migration 0001, which migration 0002 covers by itself.
INITIAL_MODELS = {
    "connectionalias",
    "integrationprofile",
    "jobrun",
    "person",
    "publisher",
    "softwaremodel",
    "softwaresubscription",
    "subscriptionidentifier",
    "subscriptionidentifierexclusionrule",
    "subscriptionuserexclusionrule",
    "userresolutionrule",
}
MODELS = {m._meta.model_name for m in apps.get_app_config("sam_saas").get_models()}
ACTIONS = ("add", "change", "delete", "view")


def _codenames(group_name, app_label="sam_saas"):
    return set(
        Group.objects.get(name=group_name)
        .permissions.filter(content_type__app_label=app_label)
        .values_list("codename", flat=True)
    )


def _all_sam_codenames():
    return set(
        Permission.objects.filter(content_type__app_label="sam_saas").values_list(
            "codename", flat=True
        )
    )


@pytest.mark.django_db
def test_it_creates_the_three_groups_during_migrate():
    manager = _codenames(MANAGER)

    assert {f"{action}_{m}" for action in ACTIONS for m in INITIAL_MODELS} <= manager
    for group in (APPROVER, VIEWER):
        assert {f"view_{m}" for m in INITIAL_MODELS} <= _codenames(group)
        assert all(codename.startswith("view_") for codename in _codenames(group))


@pytest.mark.django_db
def test_it_gives_the_groups_the_permissions_of_every_model_after_migrate():
    assert _codenames(MANAGER) == _all_sam_codenames()
    assert _codenames(APPROVER) == {f"view_{m}" for m in MODELS}
    assert _codenames(VIEWER) == {f"view_{m}" for m in MODELS}


@pytest.mark.django_db
def test_it_syncs_the_groups_idempotently():
    Group.objects.get(name=VIEWER).permissions.clear()

    first = sync_permission_groups()
    second = sync_permission_groups()

    assert first == second
    assert first[VIEWER] >= len(MODELS)  # other apps may grant() more
    assert Group.objects.filter(name__in=[MANAGER, APPROVER, VIEWER]).count() == 3
    assert _codenames(VIEWER) == {f"view_{m}" for m in MODELS}


@pytest.mark.django_db
def test_it_never_takes_away_a_permission_granted_by_hand():
    extra = Permission.objects.get(codename="change_person")
    Group.objects.get(name=VIEWER).permissions.add(extra)

    sync_permission_groups()

    assert "change_person" in _codenames(VIEWER)


@pytest.mark.django_db
def test_it_lets_other_apps_extend_a_group(monkeypatch):
    monkeypatch.setattr(
        permissions,
        "GROUP_PERMISSIONS",
        {name: list(rules) for name, rules in permissions.GROUP_PERMISSIONS.items()},
    )

    permissions.grant(APPROVER, "auth", "view_group")
    permissions.grant(APPROVER, "auth", "view_group")
    sync_permission_groups()

    assert permissions.GROUP_PERMISSIONS[APPROVER].count(("auth", "view_group")) == 1
    assert _codenames(APPROVER, "auth") == {"view_group"}
    assert _codenames(VIEWER, "auth") == set()


@pytest.mark.django_db
def test_it_rebuilds_the_groups_with_the_frozen_migration_function():
    migration = importlib.import_module("sam_saas.migrations.0002_permission_groups")
    state = MigrationLoader(connection).project_state(("sam_saas", "0002_permission_groups"))
    Group.objects.filter(name=APPROVER).delete()
    Group.objects.get(name=MANAGER).permissions.clear()

    for _ in range(2):
        migration.create_groups(state.apps, SimpleNamespace(connection=connection))

    # The function takes every sam_saas permission present in the database.
    everything = _all_sam_codenames()
    assert _codenames(APPROVER) == {c for c in everything if c.startswith("view_")}
    assert _codenames(MANAGER) == everything
    assert {f"{action}_{m}" for action in ACTIONS for m in INITIAL_MODELS} <= everything
    assert Group.objects.filter(name=APPROVER).count() == 1
