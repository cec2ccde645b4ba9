"""The permission groups' admin pages say, in words, what each group may do."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group

from ..permissions import description_of

admin.site.unregister(Group)


@admin.register(Group)
class DescribedGroupAdmin(GroupAdmin):
    list_display = ("name", "what_it_may_do")
    readonly_fields = ("what_it_may_do",)
    fields = ("name", "what_it_may_do", "permissions")

    @admin.display(description="what it may do")
    def what_it_may_do(self, obj):
        return description_of(obj.name) if obj and obj.pk else "-"
