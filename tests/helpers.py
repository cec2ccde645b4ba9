"""Small helpers several test packages share."""

import contextlib
import re
from urllib.parse import urlsplit

import requests

from sam_saas import connectors


def consent(authorize_url: str, account: str | None = None) -> str:
    """Open the consent page, press "Authorize" (as ``account``, default the preselected
    one) and return the redirect back to our callback."""
    page = requests.get(authorize_url, timeout=5)
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    account = account or re.search(r'<option value="([^"]+)" selected', page.text).group(1)
    parts = urlsplit(authorize_url)
    answer = requests.post(
        f"{parts.scheme}://{parts.netloc}/oauth/authorize",
        data={**fields, "account": account, "decision": "allow"},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


@contextlib.contextmanager
def registered_connector(provider: str, connector):
    """Register ``connector`` for ``provider`` for the duration, then restore what was there."""
    previous = connectors._registry.get(provider)
    previous_label = connectors.provider_label(provider)
    connectors.register(provider, lambda: connector, label=connector.label)
    try:
        yield connector
    finally:
        if previous is None:
            connectors.unregister(provider)
        else:
            connectors.register(provider, previous, label=previous_label)


def replace_handler(monkeypatch, kind: str, handler) -> None:
    """Run ``handler`` for ``kind`` for the rest of the test (its label and scope kept)."""
    import dataclasses

    from sam_saas import jobkinds

    monkeypatch.setitem(
        jobkinds._kinds, kind, dataclasses.replace(jobkinds.get(kind), handler=handler)
    )


def alias_form(alias, **changes) -> dict:
    """The alias admin form as the change page posts it: the alias's own values, its secret
    fields left empty (write-only: empty keeps the stored one), then ``changes``."""
    return {
        "name": alias.name,
        "parent": alias.parent_id or "",
        "provider": alias.provider,
        "auth_type": alias.auth_type,
        "api_base_url": alias.api_base_url,
        "auth_base_url": alias.auth_base_url,
        "client_id": alias.client_id,
        "client_secret": "",
        "access_token": "",
        "refresh_token": "",
        **changes,
    }


def oauth_app(sandbox):
    """The parent alias "Calendly app": the sandbox's OAuth app (client id and secret) and
    endpoints, which child aliases inherit."""
    from calendly_integration.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
    from sam_saas.models import ConnectionAlias

    return ConnectionAlias.objects.create(
        name="Calendly app",
        auth_type=ConnectionAlias.AuthType.OAUTH2,
        api_base_url=sandbox.url,
        auth_base_url=sandbox.url,
        client_id=DEFAULT_CLIENT_ID,
        client_secret=DEFAULT_CLIENT_SECRET,
    )


def oauth_profile(sandbox, **profile_fields):
    """A draft Calendly profile on a child alias of the sandbox's OAuth app (parent "Calendly
    app", child "Acme child"), not yet connected."""
    from sam_saas.models import ConnectionAlias, IntegrationProfile

    parent = oauth_app(sandbox)
    child = ConnectionAlias.objects.create(
        name="Acme child", parent=parent, auth_type=ConnectionAlias.AuthType.OAUTH2
    )
    return IntegrationProfile.objects.create(
        name="Acme", alias=child, provider="calendly", **profile_fields
    )
