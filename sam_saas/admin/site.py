"""Titles of the default admin site (kept as ``admin.site`` so every app registers on it)."""

from django.contrib import admin

from ..security import ThrottledAdminAuthenticationForm

PRODUCT_NAME = "SaaS License Management"

admin.site.site_header = PRODUCT_NAME
admin.site.site_title = PRODUCT_NAME
admin.site.index_title = PRODUCT_NAME
# The index links the overview dashboard first (sam_saas.views.dashboard).
admin.site.index_template = "sam_saas/admin/index.html"
# Five failed sign-ins lock a username from one address for 15 minutes (sam_saas.security);
# the form says so instead of "wrong password".
admin.site.login_form = ThrottledAdminAuthenticationForm
