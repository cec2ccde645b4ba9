"""``/favicon.ico``: browsers ask for it on every page, including CSV downloads and plain-text
errors that carry no ``<link rel="icon">``. Served from the app's static folder by Django, so it
works without a static file server too."""

from functools import cache
from pathlib import Path

from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

ICON = Path(__file__).resolve().parent / "static" / "sam_saas" / "favicon.ico"


@cache
def _icon() -> bytes:
    return ICON.read_bytes()


@require_safe
@cache_control(public=True, max_age=7 * 24 * 3600)
def favicon(request):
    return HttpResponse(_icon(), content_type="image/x-icon")
