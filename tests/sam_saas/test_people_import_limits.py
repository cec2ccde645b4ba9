"""Finding 6 of issue 11: the people import had no size limit (a 98 MB file took 48 s and
1 GB of memory), and a NUL byte passed validation, then failed the import with a 500 on
PostgreSQL. Now a limit comes from settings, a NUL byte is an error naming its line, and the
file is read in chunks, never whole."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sam_saas.models import Person
from sam_saas.services.people_import import PeopleImportError, import_people

pytestmark = pytest.mark.django_db

HEADER = b"email,name,department,cost_center,manager_email,active\n"


def rows(count: int) -> bytes:
    return HEADER + b"".join(b"p%06d@x.example,P,,,,\n" % n for n in range(count))


class ChunkCounter(io.BytesIO):
    """A file that records how much each read asked for and how much was read in all."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.requests: list[int] = []

    def read(self, size=-1):
        self.requests.append(size)
        return super().read(size)


def errors_of(source) -> list[str]:
    with pytest.raises(PeopleImportError) as excinfo:
        import_people(source)
    return excinfo.value.errors


def test_a_file_over_the_limits_is_refused_with_a_clear_error(settings):
    settings.SAM_SETTINGS = {**settings.SAM_SETTINGS, "PEOPLE_IMPORT_MAX_BYTES": 50_000}
    big = rows(3_000)  # about 75 KB
    assert "PEOPLE_IMPORT_MAX_BYTES" in errors_of(big)[0]
    upload = SimpleUploadedFile("people.csv", big, "text/csv")
    assert "larger than 0.05 MB" in errors_of(upload)[0]

    # A stream of unknown size stops once the limit is passed, not at its end.
    stream = ChunkCounter(big * 20)
    assert "PEOPLE_IMPORT_MAX_BYTES" in errors_of(stream)[0]
    assert stream.tell() < 50_000 + 128 * 1024

    settings.SAM_SETTINGS = {**settings.SAM_SETTINGS, "PEOPLE_IMPORT_MAX_ROWS": 100}
    assert errors_of(rows(101))[0].startswith("line 102: the file has more than 100 people")
    assert not Person.objects.exists()
    assert import_people(rows(100)).created == 100


def test_the_file_is_read_in_chunks_not_whole():
    stream = ChunkCounter(rows(20_000))  # about 500 KB
    assert import_people(stream).created == 20_000
    assert stream.requests and all(0 < size <= 64 * 1024 for size in stream.requests)


@pytest.mark.postgres
def test_a_nul_byte_is_reported_with_its_line_instead_of_a_500(admin_client):
    data = HEADER + b"ana@x.example,Ana,,,,\nbob@x.example,Bo\x00b,,,,\n"
    upload = SimpleUploadedFile("people.csv", data, "text/csv")

    response = admin_client.post(reverse("admin:sam_saas_person_import"), {"file": upload})

    assert response.status_code == 200
    assert "line 3: the line contains a NUL byte" in response.content.decode()
    assert not Person.objects.exists()
