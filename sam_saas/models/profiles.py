"""Integration profiles: one connected vendor organization and its processes."""

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import providers
from .choices import Process
from .connections import ConnectionAlias


def default_analyze_from() -> dt.date:
    return timezone.localdate() - dt.timedelta(days=settings.SAM_SETTINGS["DEFAULT_ANALYZE_DAYS"])


def default_refresh_timezone() -> str:
    return settings.TIME_ZONE


def validate_timezone(value: str):
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not a known IANA time zone.") from exc


def next_daily_run(refresh_time: dt.time, tz_name: str, after: dt.datetime) -> dt.datetime:
    """The first moment strictly after ``after`` whose wall-clock time in ``tz_name`` is
    ``refresh_time``, as an aware UTC datetime.

    Why not ``after + 1 day``: across a DST change a day lasts 23 or 25 hours, and a fixed
    24-hour step would drift the run by an hour. Wall-clock times that happen twice (autumn)
    run once, at the first occurrence (``fold=0``). Times that do not exist (spring) run at the
    same offset as before the change, i.e. shifted forward by the gap."""
    zone = zoneinfo.ZoneInfo(tz_name)
    local_after = after.astimezone(zone)
    day = local_after.date()
    for _ in range(3):
        candidate = dt.datetime.combine(day, refresh_time, tzinfo=zone).astimezone(dt.UTC)
        if candidate > after:
            return candidate
        day += dt.timedelta(days=1)
    raise AssertionError("unreachable: a daily time recurs within three days")


class ProfileQuerySet(models.QuerySet):
    def with_overview(self):
        """The profile list's own figures, as subqueries so a page of profiles is one query:
        ``last_download_at`` (the last successful download) and ``seats_held`` (by
        ``SubscriptionQuerySet.holding_seats``, the one definition of a held seat)."""
        from django.apps import apps

        job_run = apps.get_model("sam_saas", "JobRun")
        subscription = apps.get_model("sam_saas", "SoftwareSubscription")
        last_download = (
            job_run.objects.filter(
                profile=models.OuterRef("pk"),
                kind=job_run.Kind.DOWNLOAD,
                status=job_run.Status.SUCCEEDED,
            )
            .order_by("-finished_at")
            .values("finished_at")[:1]
        )
        seats = (
            subscription.objects.holding_seats()
            .filter(profile=models.OuterRef("pk"))
            .order_by()
            .values("profile")
            .annotate(n=models.Count("pk"))
            .values("n")
        )
        return self.annotate(
            last_download_at=models.Subquery(last_download),
            seats_held=Coalesce(models.Subquery(seats), 0),
        )


class IntegrationProfile(models.Model):
    """One connected vendor organization.

    Download subscriptions is always on; pulling activity and reclaiming are toggles. If
    reclaiming is off, candidates are still raised but reclaimed by hand. Only published
    profiles take part in the daily refresh."""

    class Status(models.TextChoices):
        """ServiceNow's lifecycle: Draft → Validated (the latest validation passed for every
        enabled process) → Published (a SAM manager pressed Publish). Turning a process on or
        off, or pointing the profile at another alias, sends a validated or published profile
        back to Draft until it validates again; ``services/lifecycle.py`` holds the gate."""

        DRAFT = "draft", "Draft"
        VALIDATED = "validated", "Validated"
        PUBLISHED = "published", "Published"

    name = models.CharField("display name", max_length=120, unique=True)
    # The installed connectors' providers (``sam_saas.providers``): a callable, so a new
    # vendor app needs no migration of the core.
    provider = providers.ProviderField()
    alias = models.ForeignKey(ConnectionAlias, on_delete=models.PROTECT, related_name="profiles")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    activity_enabled = models.BooleanField(
        "pull user activity", default=True, help_text="Learn when each seat holder was last active."
    )
    reclaim_enabled = models.BooleanField(
        "reclaim subscriptions",
        default=True,
        help_text="Remove approved seats through the vendor's API. When off, candidates are "
        "still raised and reclaimed by hand.",
    )
    analyze_activity_from = models.DateField(
        default=default_analyze_from,
        help_text="The first activity pull looks back to this date (60 days by default).",
    )
    refresh_time = models.TimeField(
        "daily refresh time", default=dt.time(2, 0), help_text="Wall-clock time in the zone below."
    )
    refresh_timezone = models.CharField(
        max_length=64, default=default_refresh_timezone, validators=[validate_timezone]
    )
    next_refresh_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        db_index=True,
        help_text="Derived from the daily refresh time and zone; the dispatcher queues the "
        "refresh once this moment has passed.",
    )
    organization_uri = models.CharField(
        max_length=300,
        blank=True,
        editable=False,
        help_text="The vendor organization this profile connects (for Calendly its URI), "
        "learnt when the connection is validated. One profile per organization.",
    )
    organization_name = models.CharField(max_length=200, blank=True)
    organization_plan = models.CharField(max_length=60, blank=True)
    last_listed_at = models.DateTimeField(
        "last complete listing",
        null=True,
        blank=True,
        editable=False,
        help_text="When the last complete download of the vendor's seats was taken: every "
        "seat still held was seen then (stored once here, not on each seat).",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProfileQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["alias"], name="%(app_label)s_%(class)s_unique_alias"),
            # One organization, one profile: a second profile on the same vendor organization
            # would count its seats twice (services.connections.record_check refuses it first).
            models.UniqueConstraint(
                fields=["provider", "organization_uri"],
                condition=~models.Q(organization_uri=""),
                name="%(app_label)s_%(class)s_unique_organization",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.analyze_activity_from and self.analyze_activity_from > timezone.localdate():
            raise ValidationError(
                {"analyze_activity_from": "The analysis cannot start later than today."}
            )
        if self.alias_id and self.alias.provider != self.provider:
            raise ValidationError({"alias": "The alias is for another provider."})

    def compute_next_refresh(self, after: dt.datetime | None = None) -> dt.datetime:
        return next_daily_run(self.refresh_time, self.refresh_timezone, after or timezone.now())

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_schedule = (
            instance.__dict__.get("refresh_time"),
            instance.__dict__.get("refresh_timezone"),
        )
        instance._loaded_processes = instance._process_key()
        return instance

    def _process_key(self):
        return (
            self.__dict__.get("alias_id"),
            self.__dict__.get("activity_enabled"),
            self.__dict__.get("reclaim_enabled"),
        )

    def enabled_processes(self) -> list[str]:
        """The processes a validation must cover, in the order they run."""
        processes = [Process.DOWNLOAD]
        if self.activity_enabled:
            processes.append(Process.ACTIVITY)
        if self.reclaim_enabled:
            processes.append(Process.RECLAIM)
        return [str(process) for process in processes]

    def save(self, *args, **kwargs):
        # Re-derive the next run when the schedule changed; the dispatcher advances it itself.
        schedule = (self.refresh_time, self.refresh_timezone)
        if self.next_refresh_at is None or schedule != getattr(self, "_loaded_schedule", None):
            self.next_refresh_at = self.compute_next_refresh()
            self._also_save(kwargs, "next_refresh_at")
        # ServiceNow's rule: changing the processes (or the connection) of a validated or
        # published profile sends it back to Draft until it validates again.
        loaded = getattr(self, "_loaded_processes", None)
        if (
            loaded is not None
            and loaded != self._process_key()
            and self.status != self.Status.DRAFT
        ):
            self.status = self.Status.DRAFT
            self._also_save(kwargs, "status")
        super().save(*args, **kwargs)
        self._loaded_schedule = schedule
        self._loaded_processes = self._process_key()

    @staticmethod
    def _also_save(kwargs, name: str) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and name not in update_fields:
            kwargs["update_fields"] = [*update_fields, name]

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED
