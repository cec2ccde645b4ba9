"""A change form rendered for posted values without saving them.

The reclamation rule's preview and the exclusion rules' "Count matches" both answer "what
would these values do?" on the page the manager is editing: validate the posted form, judge
the unsaved instance, render the same change form again. One implementation, so both pages
check permissions and build the admin form the same way."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied


class UnsavedFormMixin:
    def render_unsaved(
        self,
        request,
        object_id,
        form_url: str,
        extra_context: dict,
        judge: Callable[[object | None], dict],
    ):
        """Render the change form for the posted values. ``judge`` receives the unsaved
        instance when the form is valid (``None`` otherwise) and returns the context it adds."""
        obj = None
        if object_id:
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
        elif not self.has_add_permission(request):
            raise PermissionDenied
        fieldsets = self.get_fieldsets(request, obj)
        form_class = self.get_form(
            request, obj, change=obj is not None, fields=flatten_fieldsets(fieldsets)
        )
        form = form_class(request.POST, request.FILES, instance=obj)
        # form.instance carries the posted values after validation; it is never saved.
        judged = judge(form.instance if form.is_valid() else None)
        admin_form = helpers.AdminForm(
            form,
            list(fieldsets),
            self.get_prepopulated_fields(request, obj),
            self.get_readonly_fields(request, obj),
            model_admin=self,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"{'Change' if obj else 'Add'} {self.opts.verbose_name}",
            "subtitle": str(obj) if obj else None,
            "adminform": admin_form,
            "object_id": object_id,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **judged,
            **extra_context,
        }
        request.current_app = self.admin_site.name
        return self.render_change_form(
            request, context, add=obj is None, change=obj is not None, obj=obj, form_url=form_url
        )
