"""The next daily refresh moment is right across DST changes."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from sam_saas.models import ConnectionAlias, IntegrationProfile
from sam_saas.models.profiles import next_daily_run

UTC = dt.UTC


def test_it_keeps_the_wall_clock_time_across_the_spring_change():
    # Europe/Paris moves from UTC+1 to UTC+2 on 29 March 2026.
    before = next_daily_run(
        dt.time(6, 0), "Europe/Paris", dt.datetime(2026, 3, 28, 6, 0, tzinfo=UTC)
    )
    after = next_daily_run(dt.time(6, 0), "Europe/Paris", before)
    assert before == dt.datetime(2026, 3, 29, 4, 0, tzinfo=UTC)  # 06:00 CEST
    assert after == dt.datetime(2026, 3, 30, 4, 0, tzinfo=UTC)
    assert next_daily_run(
        dt.time(6, 0), "Europe/Paris", dt.datetime(2026, 3, 27, 6, 0, tzinfo=UTC)
    ) == dt.datetime(2026, 3, 28, 5, 0, tzinfo=UTC)  # 06:00 CET, a 23-hour day before the change


def test_it_keeps_the_wall_clock_time_across_the_autumn_change():
    # America/New_York falls back on 1 November 2026: that day lasts 25 hours.
    first = next_daily_run(
        dt.time(9, 30), "America/New_York", dt.datetime(2026, 10, 31, 13, 0, tzinfo=UTC)
    )
    second = next_daily_run(dt.time(9, 30), "America/New_York", first)
    assert first == dt.datetime(2026, 10, 31, 13, 30, tzinfo=UTC)  # 09:30 EDT
    assert second == dt.datetime(2026, 11, 1, 14, 30, tzinfo=UTC)  # 09:30 EST
    assert second - first == dt.timedelta(hours=25)


def test_it_runs_an_ambiguous_time_once_on_the_fall_back_night():
    start = dt.datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    first = next_daily_run(dt.time(1, 30), "America/New_York", start)
    second = next_daily_run(dt.time(1, 30), "America/New_York", first)
    assert first == dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # the first 01:30 (EDT)
    assert second == dt.datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # next day, EST


def test_it_shifts_a_time_that_does_not_exist_forward_by_the_gap():
    start = dt.datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST on the spring-forward day
    run = next_daily_run(dt.time(2, 30), "America/New_York", start)
    assert run == dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT


@pytest.mark.django_db
def test_it_derives_next_refresh_on_save_and_rederives_when_the_schedule_changes():
    alias = ConnectionAlias.objects.create(name="a")
    profile = IntegrationProfile.objects.create(name="p", alias=alias, refresh_time=dt.time(3, 0))
    assert profile.next_refresh_at > timezone.now()
    first = profile.next_refresh_at
    profile.refresh_from_db()
    profile.organization_name = "unchanged schedule"
    profile.save()
    assert profile.next_refresh_at == first
    profile.refresh_time = dt.time(4, 0)
    profile.refresh_timezone = "Asia/Tokyo"
    profile.save()
    assert profile.next_refresh_at.astimezone(dt.timezone(dt.timedelta(hours=9))).time() == dt.time(
        4, 0
    )


@pytest.mark.django_db
def test_it_refuses_an_analysis_start_in_the_future_and_an_unknown_zone():
    alias = ConnectionAlias.objects.create(name="b")
    profile = IntegrationProfile(
        name="q",
        alias=alias,
        analyze_activity_from=timezone.localdate() + dt.timedelta(days=1),
        refresh_timezone="Mars/Olympus",
    )
    with pytest.raises(ValidationError) as err:
        profile.full_clean()
    assert "analyze_activity_from" in err.value.message_dict
    assert "refresh_timezone" in err.value.message_dict


@pytest.mark.django_db
def test_it_defaults_the_analysis_to_sixty_days_back():
    alias = ConnectionAlias.objects.create(name="c")
    profile = IntegrationProfile.objects.create(name="r", alias=alias)
    assert profile.analyze_activity_from == timezone.localdate() - dt.timedelta(days=60)
