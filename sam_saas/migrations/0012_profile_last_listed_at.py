"""The time of the last complete listing moves to the profile; held seats stop carrying it.

Existing profiles start from what their seats say: the latest ``last_seen_at`` of a seat
still held is when the last complete download saw them all."""

from django.db import migrations, models


def from_seats(apps, schema_editor):
    Profile = apps.get_model("sam_saas", "IntegrationProfile")
    Subscription = apps.get_model("sam_saas", "SoftwareSubscription")
    latest = (
        Subscription.objects.filter(status__in=["active", "pending"])
        .values("profile_id")
        .annotate(seen=models.Max("last_seen_at"))
    )
    for row in latest:
        Profile.objects.filter(pk=row["profile_id"]).update(last_listed_at=row["seen"])


class Migration(migrations.Migration):
    dependencies = [
        ("sam_saas", "0011_scale_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="integrationprofile",
            name="last_listed_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the last complete download of the vendor's seats was taken: every seat still held was seen then (stored once here, not on each seat).",
                null=True,
                verbose_name="last complete listing",
            ),
        ),
        migrations.RunPython(from_seats, migrations.RunPython.noop),
    ]
