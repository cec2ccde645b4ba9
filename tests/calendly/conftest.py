"""Fixtures that talk real HTTP to the fake Calendly (calendly_integration.sandbox)."""

import pytest

from calendly_integration.sandbox import DEFAULT_CLIENT_ID, start_sandbox
from sam_saas.models import ConnectionAlias, IntegrationProfile
from tests.helpers import oauth_app


@pytest.fixture
def sandbox():
    with start_sandbox(members=30, plan="enterprise", seed=7, rate_limit=0) as sb:
        yield sb


@pytest.fixture
def make_pat_profile(sandbox):
    def make(name="Acme", token=None, url=None, status=IntegrationProfile.Status.PUBLISHED):
        alias = ConnectionAlias.objects.create(
            name=name,
            auth_type=ConnectionAlias.AuthType.PERSONAL_TOKEN,
            api_base_url=url or sandbox.url,
            access_token=token or sandbox.state.default_org.admin_token,
        )
        return IntegrationProfile.objects.create(
            name=name, alias=alias, status=status, provider="calendly"
        )

    return make


def admin_member(org):
    return next(m.user for m in org.members if m.role == "admin")


@pytest.fixture
def oauth_parent(sandbox):
    return oauth_app(sandbox)


@pytest.fixture
def make_oauth_profile(sandbox, oauth_parent):
    """A child alias holding a real OAuth pair issued by the fake for an admin of ``org``."""

    def make(name="Acme OAuth", org=None, scopes=None, user=None):
        from calendly_integration.sandbox.records import ALL_SCOPES

        org = org or sandbox.state.default_org
        user = user or admin_member(org)
        with sandbox.state.lock:
            access, refresh = sandbox.state.issue_oauth_pair(
                DEFAULT_CLIENT_ID, user, org, tuple(scopes or ALL_SCOPES)
            )
        import datetime as dt

        alias = ConnectionAlias.objects.create(
            name=name,
            parent=oauth_parent,
            auth_type=ConnectionAlias.AuthType.OAUTH2,
            access_token=access.value,
            refresh_token=refresh.value,
            token_expires_at=dt.datetime.fromtimestamp(access.expires_at, tz=dt.UTC),
            granted_scopes=list(scopes or ALL_SCOPES),
            connection_status=ConnectionAlias.ConnectionStatus.CONNECTED,
        )
        return IntegrationProfile.objects.create(
            name=name, alias=alias, status="published", provider="calendly"
        )

    return make
