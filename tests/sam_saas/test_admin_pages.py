"""Every registered admin renders, with a number of queries that does not grow with rows, and
no page ever contains a connection secret or its ciphertext.

The models come from ``admin.site._registry``, so an admin added later is covered as soon as it
is registered; it only needs a factory in ``tests/factories.py``.
"""

import inspect

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from factory.django import DjangoModelFactory

from sam_saas.models import ConnectionAlias
from tests import factories

SMALL, LARGE = 5, 50


def _registered_models():
    return sorted(admin.site._registry, key=lambda m: m._meta.label_lower)


def _factories_by_model():
    found = {}
    for _, obj in inspect.getmembers(factories, inspect.isclass):
        if issubclass(obj, DjangoModelFactory) and obj._meta.model is not None:
            found.setdefault(obj._meta.model, obj)
    return found


def _create(factory_class, count):
    kwargs = {"rich": True} if "rich" in factory_class._meta.parameters else {}
    return factory_class.create_batch(count, **kwargs)


def _pages(model, obj, user):
    model_admin = admin.site._registry[model]
    info = (model._meta.app_label, model._meta.model_name)
    request = RequestFactory().get("/")
    request.user = user
    pages = {"changelist": reverse("admin:{}_{}_changelist".format(*info))}
    if model_admin.has_add_permission(request):
        pages["add"] = reverse("admin:{}_{}_add".format(*info))
    pages["change"] = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
    return pages


def _render(client, pages):
    rendered = {}
    for name, url in pages.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, f"{url} returned {response.status_code}"
        rendered[name] = (len(queries), response.content.decode())
    return rendered


def _secrets_and_ciphertexts():
    values = set()
    for row in ConnectionAlias.objects.values_list(*ConnectionAlias.SECRET_FIELDS):
        values.update(v for v in row if v)
    table = connection.ops.quote_name(ConnectionAlias._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f) for f in ConnectionAlias.SECRET_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table}")  # noqa: S608
        for row in cursor.fetchall():
            values.update(v for v in row if v)
    return values


@pytest.mark.django_db
@pytest.mark.parametrize("model", _registered_models(), ids=lambda m: m._meta.label_lower)
def test_it_renders_every_admin_page_with_constant_queries_and_no_secrets(
    admin_client, superuser, model
):
    factory_class = _factories_by_model().get(model)
    assert factory_class, f"Add a factory for {model._meta.label} to tests/factories.py"

    first = _create(factory_class, SMALL)[0]
    pages = _pages(model, first, superuser)
    _render(admin_client, pages)  # warm the per-process caches (content types, site)
    small = _render(admin_client, pages)
    _create(factory_class, LARGE - SMALL)
    large = _render(admin_client, pages)

    assert model._default_manager.count() >= LARGE
    for name in pages:
        assert small[name][0] == large[name][0], (
            f"{name} page of {model._meta.label}: {small[name][0]} queries with {SMALL} rows, "
            f"{large[name][0]} with {LARGE}"
        )

    # Every page of every model also shows aliases' data (profiles, jobs, subscriptions...):
    # none may carry a secret. Aliases exist for every model through the factories.
    if not ConnectionAlias.objects.exists():
        factories.ConnectionAliasFactory()
        large = _render(admin_client, pages)
    secrets = _secrets_and_ciphertexts()
    assert len(secrets) >= 6  # three plaintexts and three ciphertexts at least
    for name, (_, html) in large.items():
        leaked = [s for s in secrets if s in html]
        assert not leaked, f"{name} page of {model._meta.label} shows a secret or ciphertext"


@pytest.mark.django_db
def test_it_titles_the_admin_site(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()

    assert admin.site.site_header == "SaaS License Management"
    assert admin.site.index_title == "SaaS License Management"
    assert "<title>SaaS License Management | SaaS License Management</title>" in html


@pytest.mark.django_db
def test_it_lists_subscriptions_without_user(admin_client):
    with_user = factories.SoftwareSubscriptionFactory()
    without_user = factories.SoftwareSubscriptionFactory(without_user=True)
    url = reverse("admin:sam_saas_softwaresubscription_changelist")

    html = admin_client.get(url, {"has_user": "no"}).content.decode()

    assert without_user.user_principal_name in html
    assert with_user.user_principal_name not in html


@pytest.mark.django_db
def test_it_sorts_subscriptions_by_inactive_days(admin_client):
    recent = factories.SoftwareSubscriptionFactory(last_activity_at="2099-01-01T00:00:00Z")
    stale = factories.SoftwareSubscriptionFactory(last_activity_at="2000-01-01T00:00:00Z")
    url = reverse("admin:sam_saas_softwaresubscription_changelist")
    # The column's index as the changelist counts it (with the action checkbox when any).
    column = list(admin_client.get(url).context["cl"].list_display).index("inactive")

    ascending = admin_client.get(url, {"o": str(column)}).content.decode()
    descending = admin_client.get(url, {"o": f"-{column}"}).content.decode()

    upn_recent, upn_stale = recent.user_principal_name, stale.user_principal_name
    assert ascending.index(upn_recent) < ascending.index(upn_stale)
    assert descending.index(upn_stale) < descending.index(upn_recent)


@pytest.mark.django_db
def test_it_keeps_vendor_fields_of_a_subscription_read_only(admin_client):
    subscription = factories.SoftwareSubscriptionFactory(role="user")
    url = reverse("admin:sam_saas_softwaresubscription_change", args=[subscription.pk])

    html = admin_client.get(url).content.decode()

    assert 'name="person"' in html
    assert 'name="user_principal_name"' not in html
    assert 'name="role"' not in html
    assert 'name="last_activity_at_0"' not in html
    assert admin_client.get(reverse("admin:sam_saas_softwaresubscription_add")).status_code == 403


@pytest.mark.django_db
def test_it_makes_job_runs_read_only_and_shows_the_hint_of_a_failure(admin_client):
    run = factories.JobRunFactory(failed=True)
    url = reverse("admin:sam_saas_jobrun_change", args=[run.pk])

    html = admin_client.get(url).content.decode()
    posted = admin_client.post(url, {"status": "succeeded"})

    assert 'id="jobrun-failure"' in html
    assert run.hint in html
    assert 'name="status"' not in html
    assert posted.status_code == 403
    run.refresh_from_db()
    assert run.status == "failed"
    assert admin_client.get(reverse("admin:sam_saas_jobrun_add")).status_code == 403


@pytest.mark.django_db
def test_it_lets_nobody_delete_job_runs(admin_client):
    run = factories.JobRunFactory()
    manager = factories.UserFactory(groups=["SAM manager"])
    client = Client()
    client.force_login(manager)
    url = reverse("admin:sam_saas_jobrun_delete", args=[run.pk])

    assert client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert type(run).objects.filter(pk=run.pk).exists()


@pytest.mark.django_db
def test_it_filters_exclusion_rules_in_force(admin_client):
    in_force = factories.SubscriptionUserExclusionRuleFactory(email_pattern="*@in.example")
    expired = factories.SubscriptionUserExclusionRuleFactory(
        email_pattern="*@expired.example", valid_until="2000-01-01T00:00:00Z"
    )
    url = reverse("admin:sam_saas_subscriptionuserexclusionrule_changelist")

    html = admin_client.get(url, {"in_force": "yes"}).content.decode()
    other = admin_client.get(url, {"in_force": "no"}).content.decode()

    assert in_force.email_pattern in html and expired.email_pattern not in html
    assert expired.email_pattern in other and in_force.email_pattern not in other


@pytest.mark.django_db
def test_it_links_the_people_import_from_the_person_list(admin_client):
    url = reverse("admin:sam_saas_person_changelist")
    import_url = reverse("admin:sam_saas_person_import")
    viewer = factories.UserFactory(groups=["SAM viewer"])
    client = Client()
    client.force_login(viewer)

    assert import_url in admin_client.get(url).content.decode()
    assert import_url not in client.get(url).content.decode()
