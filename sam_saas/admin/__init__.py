"""The sam_saas admin: one module per concern, all registered on the default ``admin.site``
(``site`` sets its titles)."""

from . import (  # noqa: F401
    catalog,
    connections,
    entitlements,
    groups,
    jobs,
    people,
    positions,
    profiles,
    rules,
    site,
    subscriptions,
)
