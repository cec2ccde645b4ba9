"""What the dashboard's filters narrow the licence position to."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q


@dataclass(frozen=True)
class Scope:
    """What the dashboard's filters narrow the position to: one profile, and software
    models (chosen directly, or every model of a publisher). ``None`` means no limit. The
    entitlements shared by all profiles stay in a profile's scope: they cover it too."""

    profile_id: int | None = None
    software_model_ids: frozenset[int] | None = None

    @property
    def is_everything(self) -> bool:
        return self.profile_id is None and self.software_model_ids is None

    def seats(self, queryset):
        if self.profile_id is not None:
            queryset = queryset.filter(profile_id=self.profile_id)
        if self.software_model_ids is not None:
            queryset = queryset.filter(software_model_id__in=self.software_model_ids)
        return queryset

    def entitlements(self, queryset):
        if self.profile_id is not None:
            queryset = queryset.filter(Q(profile_id=self.profile_id) | Q(profile__isnull=True))
        if self.software_model_ids is not None:
            queryset = queryset.filter(software_model_id__in=self.software_model_ids)
        return queryset

    def profiles(self, queryset):
        return queryset if self.profile_id is None else queryset.filter(pk=self.profile_id)

    def keeps(self, software_model_id, profile_id) -> bool:
        if self.software_model_ids is not None and software_model_id not in self.software_model_ids:
            return False
        return self.profile_id is None or profile_id == self.profile_id


EVERYTHING = Scope()
