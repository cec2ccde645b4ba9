"""Titles of the default admin site (kept as ``admin.site`` so every app registers on it)."""

from django.contrib import admin

PRODUCT_NAME = "SaaS License Management"

admin.site.site_header = PRODUCT_NAME
admin.site.site_title = PRODUCT_NAME
admin.site.index_title = PRODUCT_NAME
