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
