"""The people directory import: one service behind ``manage.py import_people`` and the admin
upload page. Atomic (any bad row: nothing imported, every error with its line), upserts by
e-mail case-insensitively, never deletes."""

from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sam_saas.models import JobRun, Person
from sam_saas.services.people_import import PeopleImportError, import_people
from tests.factories import PersonFactory, UserFactory

HEADER = "email,name,department,cost_center,manager_email,active\n"


def _csv(*rows, header=HEADER):
    return (header + "".join(f"{row}\n" for row in rows)).encode()


def _errors(data, **kwargs):
    with pytest.raises(PeopleImportError) as excinfo:
        import_people(data, **kwargs)
    return excinfo.value.errors


@pytest.mark.django_db
def test_it_creates_and_updates_people_case_insensitively():
    boss = PersonFactory(email="Boss@X.example", name="Boss")
    ana = PersonFactory(email="Ana@X.example", name="Ana Old", department="Old", manager=None)

    result = import_people(
        _csv(
            "ana@x.example,Ana Lopez,Sales,CC-1,boss@x.example,yes",
            "carl@x.example,Carl,Sales,CC-1,ana@X.EXAMPLE,",
            "dina@x.example,Dina,Finance,CC-2,,false",
        )
    )

    ana.refresh_from_db()
    carl = Person.objects.get(email="carl@x.example")
    dina = Person.objects.get(email="dina@x.example")
    assert (result.created, result.updated, result.deactivated, result.unchanged) == (2, 1, 0, 0)
    assert ana.email == "ana@x.example"  # the file's spelling wins
    assert (ana.name, ana.department, ana.cost_center) == ("Ana Lopez", "Sales", "CC-1")
    assert ana.manager == boss
    assert carl.manager == ana and carl.active is True
    assert dina.manager is None and dina.active is False
    assert Person.objects.count() == 4
    assert result.summary() == "People import: created 2, updated 1, deactivated 0, unchanged 0."


@pytest.mark.django_db
def test_it_counts_people_that_did_not_change():
    data = _csv("ana@x.example,Ana,Sales,CC-1,,", "bob@x.example,Bob,Sales,CC-1,ana@x.example,1")
    import_people(data)

    again = import_people(data)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


@pytest.mark.django_db
def test_it_links_a_manager_who_comes_later_in_the_file():
    result = import_people(_csv("bob@x.example,Bob,,,zoe@x.example,", "zoe@x.example,Zoe,,,,"))

    assert result.created == 2
    assert Person.objects.get(email="bob@x.example").manager.email == "zoe@x.example"


@pytest.mark.django_db
def test_it_links_new_people_who_manage_each_other():
    import_people(_csv("ana@x.example,Ana,,,bob@x.example,", "bob@x.example,Bob,,,ana@x.example,"))

    ana, bob = Person.objects.order_by("email")
    assert (ana.manager, bob.manager) == (bob, ana)


@pytest.mark.django_db
def test_it_gives_an_existing_person_a_manager_who_is_new_in_the_file():
    ana = PersonFactory(email="ana@x.example", name="Ana", department="", cost_center="")

    result = import_people(
        _csv("ana@x.example,Ana,,,new.boss@x.example,", "new.boss@x.example,B,,,,")
    )

    ana.refresh_from_db()
    assert (result.created, result.updated) == (1, 1)
    assert ana.manager.email == "new.boss@x.example"


@pytest.mark.django_db
def test_it_removes_a_manager_left_empty_in_the_file():
    boss = PersonFactory(email="boss@x.example")
    ana = PersonFactory(
        email="ana@x.example", name="Ana", manager=boss, department="", cost_center=""
    )

    result = import_people(_csv("ana@x.example,Ana,,,,"))

    ana.refresh_from_db()
    assert result.updated == 1 and ana.manager is None


@pytest.mark.django_db
def test_it_leaves_attributes_of_absent_optional_columns_untouched():
    person = PersonFactory(email="ana@x.example", department="Legal", cost_center="CC-9")

    import_people(b"email,name\nana@x.example,Ana B\n")

    person.refresh_from_db()
    assert (person.name, person.department, person.cost_center) == ("Ana B", "Legal", "CC-9")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("bob@,Bob,,,,", 'line 3: "bob@" is not a valid e-mail'),
        (",Nobody,,,,", "line 3: the e-mail is empty"),
        ("bob@x.example,Bob,,,ghost@x.example,", 'line 3: the manager "ghost@x.example"'),
        ("bob@x.example,Bob,,,BOB@x.example,", 'line 3: "bob@x.example" cannot be their own'),
        ("bob@x.example,Bob,,,,maybe", 'line 3: "maybe" is not a valid value for active'),
        ("bob@x.example,Bob,,,", "line 3: 5 values, but the header has 6 columns"),
        ("bob@x.example," + "B" * 201 + ",,,,", "line 3: the name is longer than 200"),
    ],
    ids=[
        "bad-email",
        "empty-email",
        "unknown-manager",
        "self-manager",
        "bad-boolean",
        "short-row",
        "too-long",
    ],
)
def test_it_imports_nothing_when_a_row_is_bad_and_names_the_line(row, message):
    existing = PersonFactory(email="keep@x.example", name="Keep")

    errors = _errors(_csv("ana@x.example,Ana,,,,", row))

    assert len(errors) == 1
    assert errors[0].startswith(message)
    assert list(Person.objects.values_list("email", flat=True)) == [existing.email]


@pytest.mark.django_db
def test_it_reports_a_duplicate_email_with_both_lines():
    errors = _errors(_csv("ana@x.example,Ana,,,,", "bob@x.example,Bob,,,,", "ANA@x.example,A,,,,"))

    assert errors == [
        'line 4: "ANA@x.example" is a duplicate of line 2 (e-mails are compared case-insensitively)'
    ]
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_it_lists_every_error_at_once():
    errors = _errors(_csv("bob@,Bob,,,,", "ok@x.example,Ok,,,,", "carl@x.example,C,,,,perhaps"))

    assert [e.split(":")[0] for e in errors] == ["line 2", "line 4"]


@pytest.mark.django_db
def test_it_rejects_a_file_that_is_not_utf8():
    data = _csv("ana@x.example,Ana,,,,").decode().replace("Ana", "Anaïs").encode("latin-1")

    errors = _errors(data)

    assert errors[0].startswith("line 2: the file is not UTF-8 encoded")
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_it_accepts_a_utf8_byte_order_mark():
    result = import_people(b"\xef\xbb\xbf" + _csv("ana@x.example,Anaïs,,,,"))

    assert result.created == 1
    assert Person.objects.get().name == "Anaïs"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        b"name,department\nAna,Sales\n",
        b"ana@x.example,Ana,Sales,CC-1,,yes\n",
    ],
    ids=["missing-email-column", "no-header"],
)
def test_it_rejects_a_header_without_the_required_column(data):
    errors = _errors(data)

    assert errors[0].startswith("line 1: the header lacks the required column(s) email")
    assert not Person.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data", [b"", b"  \n\n", HEADER.encode()], ids=["empty", "blank", "header"]
)
def test_it_rejects_a_file_without_people(data):
    errors = _errors(data)

    assert len(errors) == 1
    assert "empty" in errors[0] or "no people" in errors[0]


@pytest.mark.django_db
def test_it_ignores_extra_columns_with_a_warning():
    data = _csv("ana@x.example,Ana,,,,,Director", header=HEADER.strip() + ",title\n")

    result = import_people(data)

    assert result.created == 1
    assert result.warnings == ["line 1: ignored column(s) not used by the import: title"]


@pytest.mark.django_db
def test_it_deactivates_missing_people_only_when_asked():
    leaver = PersonFactory(email="leaver@x.example")
    data = _csv("ana@x.example,Ana,,,,")

    kept = import_people(data)
    leaver.refresh_from_db()
    assert kept.deactivated == 0 and leaver.active

    # One of one active person missing is above the guard's share: confirmed with the number.
    result = import_people(data, deactivate_missing=True, max_deactivate=1)

    leaver.refresh_from_db()
    assert result.deactivated == 1
    assert leaver.active is False
    assert Person.objects.count() == 2  # nobody is deleted


@pytest.mark.django_db
def test_it_saves_nothing_on_a_dry_run():
    leaver = PersonFactory(email="leaver@x.example")

    result = import_people(_csv("ana@x.example,Ana,,,,"), deactivate_missing=True, dry_run=True)

    leaver.refresh_from_db()
    assert (result.created, result.deactivated) == (1, 1)
    assert result.summary().startswith("Dry run, nothing saved")
    assert leaver.active and Person.objects.count() == 1


@pytest.mark.django_db
def test_it_imports_ten_thousand_rows_in_few_queries():
    # How fast: ``manage.py bench_people_import`` measures it (a timed assertion fails on a busy
    # machine).
    PersonFactory(email="person00001@big.example", name="Old name")
    rows = [f"person{i:05d}@big.example,Person {i},Dept {i % 20},CC{i % 7}," for i in range(10_000)]
    rows = [f"{row}{'person00000@big.example' if i else ''},yes" for i, row in enumerate(rows)]

    with CaptureQueriesContext(connection) as queries:
        result = import_people(_csv(*rows))

    assert (result.created, result.updated) == (9_999, 1)
    assert Person.objects.filter(manager__email="person00000@big.example").count() == 9_999
    assert len(queries) < 200, f"{len(queries)} queries"


@pytest.mark.django_db
def test_it_prints_a_summary_from_the_command(tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(_csv("ana@x.example,Ana,,,,", "bob@x.example,Bob,,,ana@x.example,"))
    out = StringIO()

    call_command("import_people", str(path), stdout=out, stderr=StringIO())

    summary, run, rules = out.getvalue().strip().splitlines()
    assert summary == "People import: created 2, updated 0, deactivated 0, unchanged 0."
    assert run.startswith("Job result #")
    assert rules.startswith("Rules applied at once: 0 seat(s) re-judged")
    assert Person.objects.count() == 2


@pytest.mark.django_db
def test_it_fails_the_command_with_every_error(tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(_csv("bob@,Bob,,,,", "carl@x.example,Carl,,,nobody@x.example,"))
    err = StringIO()

    with pytest.raises(CommandError, match="2 error"):
        call_command("import_people", str(path), stdout=StringIO(), stderr=err)

    assert 'line 2: "bob@" is not a valid e-mail' in err.getvalue()
    assert 'line 3: the manager "nobody@x.example"' in err.getvalue()
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_it_passes_the_command_options_to_the_import(tmp_path):
    leaver = PersonFactory(email="leaver@x.example")
    path = tmp_path / "people.csv"
    path.write_bytes(_csv("ana@x.example,Ana,,,,"))

    call_command("import_people", str(path), "--deactivate-missing", "--dry-run", stdout=StringIO())
    leaver.refresh_from_db()
    assert leaver.active and not Person.objects.filter(email="ana@x.example").exists()

    out = StringIO()
    call_command(
        "import_people", str(path), "--deactivate-missing", "--max-deactivate", "1", stdout=out
    )
    leaver.refresh_from_db()
    assert not leaver.active
    assert "deactivated 1" in out.getvalue()


def test_it_fails_the_command_on_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_people", str(tmp_path / "nope.csv"))


@pytest.mark.django_db
def test_it_imports_an_uploaded_file_in_the_admin(admin_client):
    url = reverse("admin:sam_saas_person_import")
    upload = SimpleUploadedFile("people.csv", _csv("ana@x.example,Ana,,,,"), "text/csv")

    page = admin_client.get(url)
    response = admin_client.post(url, {"file": upload})

    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.content.decode()
    assert "csrfmiddlewaretoken" in page.content.decode()
    assert response.status_code == 302
    assert response.url == reverse("admin:sam_saas_person_changelist")
    run = JobRun.objects.get(kind=JobRun.Kind.PEOPLE_IMPORT)
    run_url = reverse("admin:sam_saas_jobrun_change", args=[run.pk])
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "People import: created 1, updated 0, deactivated 0, unchanged 0. "
        f'<a href="{run_url}">Job result #{run.pk}</a>',
        "Rules applied at once: 0 seat(s) re-judged, 0 changed; 0 open candidate(s) closed.",
    ]
    assert Person.objects.get().email == "ana@x.example"


@pytest.mark.django_db
def test_it_deactivates_missing_people_from_the_admin_when_ticked(admin_client):
    leaver = PersonFactory(email="leaver@x.example")
    upload = SimpleUploadedFile("people.csv", _csv("ana@x.example,Ana,,,,"), "text/csv")

    url = reverse("admin:sam_saas_person_import")
    page = admin_client.post(url, {"file": upload, "deactivate_missing": "on"})
    leaver.refresh_from_db()
    assert leaver.active is True  # not before the second confirmation
    token = page.context["token"]
    admin_client.post(url, {"confirm_deactivation": "1", "token": token, "typed_count": "1"})

    leaver.refresh_from_db()
    assert leaver.active is False


@pytest.mark.django_db
def test_it_lists_the_errors_in_the_admin_and_imports_nothing(admin_client):
    upload = SimpleUploadedFile(
        "people.csv", _csv("ana@x.example,Ana,,,,", "bob@,Bob,,,,"), "text/csv"
    )

    response = admin_client.post(reverse("admin:sam_saas_person_import"), {"file": upload})

    html = response.content.decode()
    assert response.status_code == 200
    assert "line 3: &quot;bob@&quot; is not a valid e-mail" in html
    assert "nothing was imported" in html
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_it_forbids_the_upload_page_to_a_sam_viewer():
    viewer = UserFactory(groups=["SAM viewer"])
    client = Client()
    client.force_login(viewer)
    url = reverse("admin:sam_saas_person_import")
    upload = SimpleUploadedFile("people.csv", _csv("ana@x.example,Ana,,,,"), "text/csv")

    assert client.get(url).status_code == 403
    assert client.post(url, {"file": upload}).status_code == 403
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_it_requires_csrf_on_the_upload_page(superuser):
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    upload = SimpleUploadedFile("people.csv", _csv("ana@x.example,Ana,,,,"), "text/csv")

    response = client.post(reverse("admin:sam_saas_person_import"), {"file": upload})

    assert response.status_code == 403
    assert not Person.objects.exists()


# -- the browser day: semicolons, every error of a line, the example file ----------------------


@pytest.mark.django_db
@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_it_reads_semicolon_and_tab_delimited_files(delimiter):
    """Excel saves "CSV" with semicolons wherever the decimal separator is a comma."""
    data = delimiter.join(HEADER.strip().split(",")) + "\r\n"
    data += delimiter.join(["ana@x.example", "Ana, Marie", "Sales", "CC-1", "", "yes"]) + "\r\n"

    result = import_people(data.encode())

    assert result.created == 1
    ana = Person.objects.get()
    assert (ana.name, ana.department, ana.cost_center) == ("Ana, Marie", "Sales", "CC-1")


@pytest.mark.django_db
def test_it_reports_every_error_of_a_line():
    errors = _errors(_csv("bob@,Bob,,,nobody@x.example,maybe", "ana@x.example,Ana,,,,"))

    assert errors == [
        'line 2: "bob@" is not a valid e-mail',
        'line 2: "maybe" is not a valid value for active '
        "(use true/false, yes/no, 1/0, y/n or leave it empty)",
        'line 2: the manager "nobody@x.example" is neither in the file nor in the directory',
    ]


@pytest.mark.django_db
def test_it_checks_the_other_cells_of_a_line_with_too_few_values():
    errors = _errors(b"email,name,active\nana@x.example,Ana,perhaps\nbob@\n")

    assert errors == [
        'line 2: "perhaps" is not a valid value for active '
        "(use true/false, yes/no, 1/0, y/n or leave it empty)",
        "line 3: 1 values, but the header has 3 columns",
        'line 3: "bob@" is not a valid e-mail',
    ]


@pytest.mark.django_db
def test_the_example_file_imports_as_it_is(admin_client):
    response = admin_client.get(reverse("admin:sam_saas_person_import_example"))

    assert response["Content-Disposition"] == 'attachment; filename="people-example.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel keeps the accents
    result = import_people(response.content)
    assert result.created == 3
    assert Person.objects.get(email="joao.silva@example.com").manager.name == "Åsa Hernández"


@pytest.mark.django_db
def test_the_import_page_lists_the_columns_and_links_the_example(admin_client):
    html = admin_client.get(reverse("admin:sam_saas_person_import")).content.decode()

    assert 'id="import-columns"' in html
    for column in ("email", "name", "department", "cost_center", "manager_email", "active"):
        assert f"<td><code>{column}</code></td>" in html
    assert reverse("admin:sam_saas_person_import_example") in html
    assert 'id="site-name"' in html and "breadcrumbs" in html
