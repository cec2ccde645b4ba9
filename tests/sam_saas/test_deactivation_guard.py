"""Guard the deactivation: "Deactivate people missing from the file" shows who would be
deactivated and needs a second confirmation; above 20% of the active people the number typed
in (admin) or ``--max-deactivate N`` (command line). The result lists who was deactivated, and
a later import that contains them reactivates them."""

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from sam_saas.models import Person
from sam_saas.services.people_import import DeactivationRefused, import_people

pytestmark = pytest.mark.django_db
URL = "admin:sam_saas_person_import"


@pytest.fixture
def directory():
    """Ten active people."""
    return [
        Person.objects.create(email=f"p{i}@corp.example", name=f"Person {i}") for i in range(10)
    ]


def csv_of(people, header="email,name"):
    rows = [f"{p.email},{p.name}" for p in people]
    return ("\n".join([header, *rows]) + "\n").encode()


def upload(data):
    return SimpleUploadedFile("people.csv", data, "text/csv")


def active_emails():
    return set(Person.objects.filter(active=True).values_list("email", flat=True))


def messages_of(response):
    return " ".join(str(m) for m in response.context["messages"])


def test_the_page_lists_who_would_go_and_needs_a_second_confirmation(admin_client, directory):
    url = reverse(URL)
    leaving = directory[9]
    page = admin_client.post(
        url, {"file": upload(csv_of(directory[:9])), "deactivate_missing": "on"}
    )
    html = page.content.decode()
    assert "This import will deactivate 1 of 10 active people (10%)." in html
    assert f"Person 9 &lt;{leaving.email}&gt;" in html
    assert 'name="typed_count"' not in html  # 10%: no number to type
    assert len(active_emails()) == 10  # nothing imported yet

    done = admin_client.post(
        url, {"confirm_deactivation": "1", "token": page.context["token"]}, follow=True
    )
    assert f"Deactivated: {leaving.email}." in messages_of(done)
    assert leaving.email not in active_emails() and len(active_emails()) == 9

    # The same confirmation cannot be replayed.
    again = admin_client.post(
        url, {"confirm_deactivation": "1", "token": page.context["token"]}, follow=True
    )
    assert "This confirmation has expired" in messages_of(again)


def test_above_a_fifth_the_page_needs_the_number_typed_in(admin_client, directory):
    url = reverse(URL)
    page = admin_client.post(
        url, {"file": upload(csv_of(directory[:1])), "deactivate_missing": "on"}
    )
    html = page.content.decode()
    assert "This import will deactivate 9 of 10 active people (90%)." in html
    assert 'name="typed_count"' in html
    token = page.context["token"]

    wrong = admin_client.post(
        url, {"confirm_deactivation": "1", "token": token, "typed_count": "1"}
    )
    assert "Type 9 to confirm deactivating 9 people." in wrong.content.decode()
    assert len(active_emails()) == 10

    admin_client.post(url, {"confirm_deactivation": "1", "token": token, "typed_count": "9"})
    assert active_emails() == {directory[0].email}


def test_the_page_refuses_when_the_directory_changed_since_the_confirmation(
    admin_client, directory
):
    url = reverse(URL)
    page = admin_client.post(
        url, {"file": upload(csv_of(directory[:9])), "deactivate_missing": "on"}
    )
    Person.objects.create(email="new.hire@corp.example")  # not in the file: one more would go
    response = admin_client.post(url, {"confirm_deactivation": "1", "token": page.context["token"]})
    assert "more than the 1 confirmed; nothing was imported" in response.content.decode()
    assert len(active_emails()) == 11


def test_the_command_refuses_above_a_fifth_unless_max_deactivate_covers_it(tmp_path, directory):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_of(directory[:5]))
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import_people", str(path), "--deactivate-missing", stdout=StringIO(), stderr=err
        )
    assert "would deactivate 5 of 10 active people (50%), above 20%" in err.getvalue()
    assert "--max-deactivate 5" in err.getvalue()
    assert len(active_emails()) == 10

    with pytest.raises(CommandError):
        call_command(
            "import_people",
            str(path),
            "--deactivate-missing",
            "--max-deactivate",
            "4",
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert len(active_emails()) == 10

    out = StringIO()
    call_command(
        "import_people", str(path), "--deactivate-missing", "--max-deactivate", "5", stdout=out
    )
    gone = sorted(p.email for p in directory[5:])
    assert f"Deactivated: {', '.join(gone)}." in out.getvalue()
    assert active_emails() == {p.email for p in directory[:5]}


def test_the_command_deactivates_a_small_share_without_max_deactivate(tmp_path, directory):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_of(directory[:8]))  # 2 of 10 is exactly 20%: allowed
    out = StringIO()
    call_command("import_people", str(path), "--deactivate-missing", stdout=out)
    assert "deactivated 2" in out.getvalue()
    assert len(active_emails()) == 8


def test_a_later_import_that_contains_them_reactivates_them(directory):
    with pytest.raises(DeactivationRefused):
        import_people(csv_of(directory[:2]), deactivate_missing=True)
    import_people(csv_of(directory[:2]), deactivate_missing=True, max_deactivate=8)
    assert len(active_emails()) == 2

    # Back in the file (no "active" column): reactivated. Deactivated by hand: stays so.
    by_hand = directory[2]
    Person.objects.filter(pk=by_hand.pk).update(missing_since=None)
    result = import_people(csv_of(directory[:6]))
    assert result.reactivated_people == sorted(p.email for p in directory[3:6])
    assert f"Reactivated: {', '.join(result.reactivated_people)}." == result.who()
    assert active_emails() == {p.email for p in directory[:6]} - {by_hand.email}
    assert not Person.objects.filter(
        email__in=result.reactivated_people, missing_since__isnull=False
    ).exists()

    # An explicit "active" false in the file wins.
    import_people(f"email,active\n{directory[6].email},false\n".encode())
    assert directory[6].email not in active_emails()
    assert Person.objects.get(pk=directory[6].pk).missing_since is not None
