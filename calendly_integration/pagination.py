"""Calendly's cursor pagination: follow ``pagination.next_page_token`` until there is none,
and stop with a clear error on a page limit, a page without a ``collection``, or a token that
comes back twice (a loop)."""

# Reference: https://developer.calendly.com/api-docs/api-conventions (pagination)

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .errors import InvalidRequest, Transient


def pages(
    get: Callable[[str, dict], dict],
    path: str,
    params: Mapping[str, Any] | None,
    *,
    max_pages: int,
    shown_path: str,
) -> Iterator[list[dict]]:
    """Yield each page's ``collection`` of ``get(path, query)``.

    The token is sent back as ``page_token`` with the same params; ``next_page`` URLs are
    ignored. Page tokens are short-lived: a stale one raises ``InvalidRequest`` with
    ``stale_page_token=True`` and the caller should restart the listing. ``shown_path`` is the
    path the errors name.
    """
    base_params = {k: v for k, v in dict(params or {}).items() if v is not None}
    base_params.pop("page_token", None)
    page_token: str | None = None
    seen: set[str] = set()
    count = 0
    while True:
        if count >= max_pages:
            raise InvalidRequest(
                f"More than {max_pages} pages; stopped (max_pages).",
                title="Page limit reached",
                method="GET",
                path=shown_path,
                hint="Narrow the query (dates, filters) or raise max_pages.",
            )
        query = dict(base_params)
        if page_token:
            query["page_token"] = page_token
        data = get(path, query)
        count += 1
        collection = data.get("collection") if isinstance(data, dict) else None
        if not isinstance(collection, list):
            raise Transient(
                "The response has no 'collection' list.",
                title="Unexpected response",
                method="GET",
                path=shown_path,
            )
        yield collection
        pagination = data.get("pagination") or {}
        page_token = pagination.get("next_page_token") if isinstance(pagination, dict) else None
        if not page_token:
            return
        if page_token in seen:
            raise InvalidRequest(
                "Calendly returned the same page token twice; stopped to avoid a loop.",
                title="Pagination loop",
                method="GET",
                path=shown_path,
            )
        seen.add(page_token)
