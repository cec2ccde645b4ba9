"""Titles of the default admin site (kept as ``admin.site`` so every app registers on it)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from ..security import ThrottledAdminAuthenticationForm
from .strict import StrictLookupsMixin

PRODUCT_NAME = "SaaS License Management"

admin.site.site_header = PRODUCT_NAME
admin.site.site_title = PRODUCT_NAME
admin.site.index_title = PRODUCT_NAME
# The index links the overview dashboard first (sam_saas.views.dashboard).
admin.site.index_template = "sam_saas/admin/index.html"
# Five failed sign-ins lock a username from one address for 15 minutes (sam_saas.security);
# the form says so instead of "wrong password".
admin.site.login_form = ThrottledAdminAuthenticationForm

# Django's own user list accepts only its declared filters too (sam_saas.admin.strict); the
# group list is groups.DescribedGroupAdmin.
admin.site.unregister(User)
admin.site.register(User, type("StrictUserAdmin", (StrictLookupsMixin, UserAdmin), {}))
