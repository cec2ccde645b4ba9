"""Every saved people import leaves a "People import" job result: counters, a final message,
and who was deactivated and reactivated. A dry run or a refused import leaves none."""

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from sam_saas.models import JobRun, Person
from sam_saas.services import people_import
from sam_saas.services.people_import import DeactivationRefused, PeopleImportError, import_people

pytestmark = pytest.mark.django_db
KIND = JobRun.Kind.PEOPLE_IMPORT


@pytest.fixture
def directory():
    """Ten active people."""
    return [
        Person.objects.create(email=f"p{i}@corp.example", name=f"Person {i}") for i in range(10)
    ]


def csv_of(people, header="email,name"):
    return ("\n".join([header, *(f"{p.email},{p.name}" for p in people)]) + "\n").encode()


def runs():
    return list(JobRun.objects.filter(kind=KIND).order_by("id"))


def test_deactivating_two_then_reactivating_them_leaves_two_runs_listing_them(directory):
    leaving = directory[8:]
    first = import_people(csv_of(directory[:8]), deactivate_missing=True, max_deactivate=2)

    (run,) = runs()
    assert first.run == run
    assert (run.status, run.trigger, run.profile_id) == ("succeeded", "manual", None)
    assert (run.fetched, run.created, run.updated, run.removed) == (8, 0, 0, 2)
    assert run.progress == 100
    assert run.progress_message == (
        "Read 8 rows: created 0, updated 0, deactivated 2 (counted as removed), unchanged 8."
    )
    assert run.warnings == [
        "Deactivated (2): Person 8 <p8@corp.example>, Person 9 <p9@corp.example>."
    ]
    assert not Person.objects.filter(pk__in=[p.pk for p in leaving], active=True).exists()

    newcomer = Person(email="new@corp.example", name="New")
    import_people(csv_of([*directory, newcomer]), deactivate_missing=True)

    second = runs()[1]
    assert (second.fetched, second.created, second.updated, second.removed) == (11, 1, 2, 0)
    assert second.progress_message == (
        "Read 11 rows: created 1, updated 2 (2 reactivated), deactivated 0 (counted as "
        "removed), unchanged 8."
    )
    assert second.warnings == [
        "Reactivated (2): Person 8 <p8@corp.example>, Person 9 <p9@corp.example>."
    ]
    assert Person.objects.filter(active=True).count() == 11


def test_a_long_list_is_capped_with_and_n_more(directory, monkeypatch):
    monkeypatch.setattr(people_import, "RUN_LIST_LIMIT", 3)
    import_people(csv_of(directory[:5]), deactivate_missing=True, max_deactivate=5)
    (run,) = runs()
    assert run.warnings == [
        "Deactivated (5): Person 5 <p5@corp.example>, Person 6 <p6@corp.example>, "
        "Person 7 <p7@corp.example> and 2 more."
    ]


def test_the_file_warnings_are_kept_in_the_run(directory):
    import_people(csv_of(directory, header="email,name"), deactivate_missing=False)
    data = b"email,name,badge\np0@corp.example,Person 0,x\n"
    import_people(data)
    assert runs()[1].warnings == ["line 1: ignored column(s) not used by the import: badge"]


def test_the_command_leaves_a_command_run_and_points_to_it(directory, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_of(directory[:9]))
    out = StringIO()
    call_command("import_people", str(path), "--deactivate-missing", stdout=out)
    (run,) = runs()
    assert run.trigger == JobRun.Trigger.COMMAND
    assert (run.fetched, run.removed) == (9, 1)
    assert run.warnings == ["Deactivated (1): Person 9 <p9@corp.example>."]
    url = reverse("admin:sam_saas_jobrun_change", args=[run.pk])
    assert f"Job result #{run.pk} (People import): {url}" in out.getvalue()


def test_the_admin_upload_links_its_run(admin_client, directory):
    upload = SimpleUploadedFile("people.csv", csv_of(directory), "text/csv")
    done = admin_client.post(reverse("admin:sam_saas_person_import"), {"file": upload}, follow=True)
    (run,) = runs()
    assert run.trigger == JobRun.Trigger.MANUAL
    text = " ".join(str(m) for m in done.context["messages"])
    url = reverse("admin:sam_saas_jobrun_change", args=[run.pk])
    assert f'<a href="{url}">Job result #{run.pk}</a>' in text
    assert admin_client.get(url).status_code == 200


def test_a_dry_run_leaves_no_run(directory):
    result = import_people(csv_of(directory[:9]), deactivate_missing=True, dry_run=True)
    assert result.run is None
    assert runs() == []


def test_a_refused_import_stores_nothing(directory, tmp_path):
    before = list(Person.objects.order_by("pk").values_list("email", "active", "missing_since"))
    with pytest.raises(DeactivationRefused):
        import_people(csv_of(directory[:2]), deactivate_missing=True)
    with pytest.raises(PeopleImportError):
        import_people(b"email,name\nnot-an-email,X\np0@corp.example,Person 0\n")
    path = tmp_path / "people.csv"
    path.write_bytes(csv_of(directory[:1]))
    with pytest.raises(CommandError):
        call_command(
            "import_people", str(path), "--deactivate-missing", stdout=StringIO(), stderr=StringIO()
        )
    assert JobRun.objects.count() == 0
    after = list(Person.objects.order_by("pk").values_list("email", "active", "missing_since"))
    assert after == before


def test_a_queued_people_import_run_fails_saying_how_to_import():
    from sam_saas.services import jobs

    run = jobs.run_now(None, KIND, JobRun.Trigger.COMMAND)
    assert run.status == JobRun.Status.FAILED
    assert "manage.py import_people" in run.error_message
