"""Import the company directory from a CSV file.

One function serves ``manage.py import_people`` and the admin upload page. The file is
validated completely before anything is written: any bad row means nothing is imported, and
every error names its line (the header is line 1). People are upserted by e-mail,
case-insensitively; nobody is ever deleted, ``deactivate_missing`` marks absentees inactive.

Columns: ``email`` is required; ``name``, ``department``, ``cost_center``, ``manager_email``
and ``active`` are optional, and a column left out of the file leaves that attribute of
existing people untouched. Other columns are ignored with a warning.

Excel saves "CSV" with semicolons where the decimal separator is a comma (much of Europe),
so the delimiter is read from the header line: comma, semicolon or tab. Every problem of a
line is reported, not only the first one.
"""

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import JobRun, Person

COLUMNS = ("email", "name", "department", "cost_center", "manager_email", "active")
# What the import page and the example file show: (column, required, meaning, example values).
COLUMN_DOCS = (
    (
        "email",
        True,
        "The person's e-mail; people are matched by it, ignoring case.",
        ("asa.hernandez@example.com", "joao.silva@example.com", "li.wei@example.com"),
    ),
    ("name", False, "Full name.", ("Åsa Hernández", "João Silva", "Li Wei")),
    (
        "department",
        False,
        "Department, as the lists and reports filter by it.",
        ("Sales", "Sales", "Engineering"),
    ),
    ("cost_center", False, "Cost center.", ("CC-100", "CC-100", "CC-200")),
    (
        "manager_email",
        False,
        "The manager's e-mail: someone in the file or already in the directory.",
        ("", "asa.hernandez@example.com", "asa.hernandez@example.com"),
    ),
    (
        "active",
        False,
        "true/false, yes/no, 1/0 or y/n; empty means true. Leavers are false.",
        ("true", "true", "false"),
    ),
)
DELIMITERS = (",", ";", "\t")
REQUIRED_COLUMNS = ("email",)
TRUE_VALUES = frozenset({"true", "yes", "1", "y", ""})
FALSE_VALUES = frozenset({"false", "no", "0", "n"})
TEXT_ATTRIBUTES = ("name", "department", "cost_center")
BATCH_SIZE = 500
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_ROWS = 200_000
NUL_ERROR = (
    "the line contains a NUL byte (\\0), which is not text; export the file again as CSV UTF-8"
)


class PeopleImportError(Exception):
    """The file cannot be imported; ``errors`` lists every problem, each naming its line."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


# "Deactivate people missing from the file" above this share of the active people needs the
# number typed in (admin) or ``--max-deactivate N`` (command line): a one-row file must not
# deactivate the company.
GUARD_SHARE = 0.20


class DeactivationRefused(PeopleImportError):
    """The import would deactivate more people than confirmed; nothing was imported."""

    def __init__(self, message: str, would_deactivate: list[str], active: int):
        self.would_deactivate = would_deactivate
        self.active = active
        super().__init__([message])


def needs_typed_confirmation(count: int, active: int) -> bool:
    return active > 0 and count > GUARD_SHARE * active


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False
    rules: object = None  # services.rejudge.Outcome: the seats re-judged after the import
    deactivated_people: list[str] = field(default_factory=list)  # e-mails
    reactivated_people: list[str] = field(default_factory=list)
    active_before: int = 0
    rows: int = 0
    run: JobRun | None = None  # the job result a saved import left (never for a dry run)

    def who(self, limit: int = 50) -> str:
        """ "Deactivated: a@x, b@x. Reactivated: c@x." (empty when nobody)."""
        parts = []
        for label, emails in (
            ("Deactivated", self.deactivated_people),
            ("Reactivated", self.reactivated_people),
        ):
            if emails:
                more = f" and {len(emails) - limit} more" if len(emails) > limit else ""
                parts.append(f"{label}: {', '.join(emails[:limit])}{more}.")
        return " ".join(parts)

    def summary(self) -> str:
        prefix = "Dry run, nothing saved: would have " if self.dry_run else "People import: "
        return (
            f"{prefix}created {self.created}, updated {self.updated}, "
            f"deactivated {self.deactivated}, unchanged {self.unchanged}."
        )


@dataclass
class _Row:
    line: int
    email: str
    values: dict  # attribute -> value, only for the columns present in the file
    manager_email: str | None  # None: column absent; "": no manager

    @property
    def key(self) -> str:
        return self.email.lower()


def import_people(
    source,
    deactivate_missing: bool = False,
    dry_run: bool = False,
    *,
    max_deactivate: int | None = None,
    trigger: str = "manual",
) -> ImportResult:
    """Validate and import a directory CSV (bytes, str or a file object).

    Raises ``PeopleImportError`` with every error when any row is invalid; nothing is saved
    then. With ``dry_run`` the file is validated and counted, and nothing is saved either.

    An import that changed anyone re-judges the stored seats at once (people matched, their
    department and cost center in exclusion rules, leavers), inline or as an "Apply rules"
    job run with ``trigger`` (``services.rejudge``).

    The deactivation guard: ``max_deactivate`` is how many people the operator confirmed may
    be deactivated. More than that is refused (:class:`DeactivationRefused`, nothing saved);
    without it, deactivating more than :data:`GUARD_SHARE` of the active people is refused.
    A person deactivated as missing who is in a later file is reactivated (unless the file
    says ``active`` false)."""
    max_bytes, max_rows = import_limits()
    rows, references, warnings, errors = _parse(_lines(source, max_bytes), max_rows)

    existing: dict[str, Person] = {
        p.email.lower(): p
        for p in Person.objects.only(
            "id",
            "email",
            "name",
            "department",
            "cost_center",
            "manager_id",
            "active",
            "missing_since",
        ).iterator(chunk_size=2000)
    }
    errors += _check_managers(references, existing)
    if errors:
        raise PeopleImportError(sorted(errors, key=_line_of))
    if not rows:
        raise PeopleImportError(["The file has a header but no people; nothing to import."])

    result = ImportResult(warnings=warnings, dry_run=dry_run)
    now = timezone.now()
    by_key: dict[str, Person] = dict(existing)
    to_create: list[Person] = []
    reactivated: list[str] = []
    changes: dict[int, tuple[Person, set[str]]] = {}  # id(person) -> (existing person, fields)
    for row in rows:
        person = existing.get(row.key)
        if person is None:
            person = Person(email=row.email, created_at=now, updated_at=now, **row.values)
            to_create.append(person)
            by_key[row.key] = person
            continue
        fields = set()
        if person.email != row.email:
            person.email = row.email  # the file's spelling wins
            fields.add("email")
        values = dict(row.values)
        if person.missing_since is not None:
            # Deactivated as missing from an earlier file, and back in this one.
            values.setdefault("active", True)
            if values["active"]:
                person.missing_since = None
                fields.add("missing_since")
                if not person.active:
                    reactivated.append(person.email)
        for attr, value in values.items():
            if getattr(person, attr) != value:
                setattr(person, attr, value)
                fields.add(attr)
        if fields:
            changes[id(person)] = (person, fields)

    # Managers are resolved once every person of the file has an object. A new manager has
    # no id yet: ``pending`` remembers the link until the manager is inserted.
    pending: dict[int, tuple[Person, Person]] = {}  # id(person) -> (person, new manager)
    for row in rows:
        if row.manager_email is None:
            continue  # no manager_email column: managers stay as they are
        person = by_key[row.key]
        manager = by_key[row.manager_email.lower()] if row.manager_email else None
        manager_id = manager.pk if manager else None
        if manager is not None and manager_id is None:
            pending[id(person)] = (person, manager)
        elif person.pk is None or person.manager_id == manager_id:
            person.manager_id = manager_id
            continue
        else:
            person.manager_id = manager_id
        if person.pk is not None:
            changes.setdefault(id(person), (person, set()))[1].add("manager")

    file_keys = {row.key for row in rows}
    to_deactivate = []
    if deactivate_missing:
        missing = sorted(
            (p for k, p in existing.items() if k not in file_keys and p.active),
            key=lambda p: p.email.lower(),
        )
        to_deactivate = [p.pk for p in missing]
        result.deactivated_people = [p.email for p in missing]
    result.reactivated_people = reactivated
    result.active_before = sum(1 for p in existing.values() if p.active)
    _guard(result.deactivated_people, result.active_before, max_deactivate, dry_run)

    result.created = len(to_create)
    result.updated = len(changes)
    result.deactivated = len(to_deactivate)
    result.unchanged = len(rows) - result.created - result.updated
    result.rows = len(rows)
    if dry_run:
        return result

    try:
        with transaction.atomic():
            _insert_new_people(to_create, pending)
            _update_people(list(changes.values()), now)
            for start in range(0, len(to_deactivate), BATCH_SIZE):
                Person.objects.filter(pk__in=to_deactivate[start : start + BATCH_SIZE]).update(
                    active=False, missing_since=now, updated_at=now
                )
            # In the same transaction: the job result exists exactly when the import saved.
            result.run = _record_run(result, trigger, started_at=now)
    except IntegrityError as exc:
        # Someone added one of these e-mails while we were validating.
        raise PeopleImportError(
            [f"The directory changed during the import ({exc}); nothing was imported. Retry."]
        ) from exc
    if result.created or result.updated or result.deactivated:
        from .rejudge import apply_at_once

        result.rules = apply_at_once(trigger=trigger)
    return result


# Names listed per group in the job result; the rest are counted ("and N more").
RUN_LIST_LIMIT = 200


def _record_run(result: ImportResult, trigger: str, *, started_at) -> JobRun:
    """The "People import" job result of a saved import. Counters: ``fetched`` = rows read,
    ``created``, ``updated`` (reactivated people included), ``removed`` = deactivated. Who was
    deactivated and reactivated is in its warnings, by e-mail and name.

    A refused import (invalid rows, :class:`DeactivationRefused`) leaves no run: it saved
    nothing, and the operator reads its errors at once on the page or on stderr."""
    from . import jobs

    # Inserted already finished: a recorded import never holds the "one open run" slot, so
    # two imports at the same time both leave their result.
    run = JobRun.objects.create(
        kind=JobRun.Kind.PEOPLE_IMPORT,
        trigger=trigger,
        status=JobRun.Status.SUCCEEDED,
        queued_at=started_at,
        started_at=started_at,
        fetched=result.rows,
        created=result.created,
        updated=result.updated,
        removed=result.deactivated,
        warnings=[*result.warnings, *_who_lines(result)],
    )
    run.progress = 99
    run.progress_message = _final_message(result)[:300]
    jobs.finish(run, JobRun.Status.SUCCEEDED)
    return run


def _final_message(result: ImportResult) -> str:
    reactivated = len(result.reactivated_people)
    back = f" ({reactivated} reactivated)" if reactivated else ""
    return (
        f"Read {result.rows:,} rows: created {result.created:,}, updated "
        f"{result.updated:,}{back}, deactivated {result.deactivated:,} (counted as removed), "
        f"unchanged {result.unchanged:,}."
    )


def _who_lines(result: ImportResult) -> list[str]:
    limit = RUN_LIST_LIMIT
    emails = [*result.deactivated_people[:limit], *result.reactivated_people[:limit]]
    names = dict(
        Person.objects.filter(email__in=emails).values_list("email", "name")
    )  # the file's spelling of each e-mail was saved, so the match is exact
    lines = []
    for label, group in (
        ("Deactivated", result.deactivated_people),
        ("Reactivated", result.reactivated_people),
    ):
        if not group:
            continue
        shown = [f"{names[e]} <{e}>" if names.get(e) else e for e in group[:limit]]
        more = f" and {len(group) - limit:,} more" if len(group) > limit else ""
        lines.append(f"{label} ({len(group):,}): {', '.join(shown)}{more}.")
    return lines


def run_people_import_job(run: JobRun) -> None:
    """A people import is recorded by :func:`import_people` as it saves; it is never queued.
    A queued run of this kind (``manage.py refresh --kind people_import``) fails saying so."""
    raise PeopleImportError(
        ["A people import runs from its file: use manage.py import_people or the admin upload."]
    )


def _guard(emails: list[str], active: int, max_deactivate: int | None, dry_run: bool) -> None:
    """Refuse deactivating more people than confirmed (see :func:`import_people`)."""
    count = len(emails)
    if dry_run or not count:
        return
    share = f"{count} of {active} active people ({100 * count / active:.0f}%)"
    if max_deactivate is not None:
        if count > max_deactivate:
            raise DeactivationRefused(
                f"This import would deactivate {share}, more than the {max_deactivate} "
                "confirmed; nothing was imported. Check the file, then confirm the new number.",
                emails,
                active,
            )
        return
    if needs_typed_confirmation(count, active):
        raise DeactivationRefused(
            f"This import would deactivate {share}, above {GUARD_SHARE:.0%}; nothing was "
            f"imported. If that is right, run it again with --max-deactivate {count}.",
            emails,
            active,
        )


def import_limits() -> tuple[int, int]:
    """(bytes, rows) a directory file may have: ``SAM_SETTINGS["PEOPLE_IMPORT_MAX_BYTES"]``
    and ``["PEOPLE_IMPORT_MAX_ROWS"]``, by default 20 MB and 200,000 people."""
    options = getattr(settings, "SAM_SETTINGS", {})
    return (
        int(options.get("PEOPLE_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)),
        int(options.get("PEOPLE_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)),
    )


def _too_large(max_bytes: int) -> PeopleImportError:
    return PeopleImportError(
        [
            f"The file is larger than {max_bytes / 1_000_000:g} MB, the limit set by "
            "PEOPLE_IMPORT_MAX_BYTES; nothing was imported. Split it, or ask the operator to "
            "raise the limit."
        ]
    )


class _LimitedReader(io.RawIOBase):
    """A binary file read in chunks that refuses to go past ``max_bytes``: the file is never
    held in memory whole, and a huge one stops at the limit."""

    def __init__(self, raw, max_bytes: int):
        self.raw, self.max_bytes, self.count = raw, max_bytes, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.count += len(data)
        if self.count > self.max_bytes:
            raise _too_large(self.max_bytes)
        buffer[: len(data)] = data
        return len(data)


def _lines(source, max_bytes: int) -> Iterator[str]:
    """The file's lines, decoded one at a time (UTF-8, with or without a byte-order mark):
    bytes, str, a file object or a Django upload. The file is never held in memory whole, and
    a line that is not UTF-8 is named by its number."""
    if isinstance(source, str):
        source = source.encode("utf-8")
    if isinstance(source, bytes):
        if len(source) > max_bytes:
            raise _too_large(max_bytes)
        source = io.BytesIO(source)
    elif getattr(source, "size", None) is not None and source.size > max_bytes:
        raise _too_large(max_bytes)  # a Django upload knows its size before it is read
    if getattr(source, "seekable", lambda: False)():
        source.seek(0)
    binary = io.BufferedReader(_LimitedReader(source, max_bytes), buffer_size=64 * 1024)
    for number, raw in enumerate(binary, start=1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PeopleImportError(
                [
                    f"line {number}: the file is not UTF-8 encoded (byte "
                    f'0x{raw[exc.start]:02x}); save it as "CSV UTF-8" and try again.'
                ]
            ) from exc


def _line_of(error: str) -> int:
    head = error.split(":", 1)[0]
    return int(head[5:]) if head.startswith("line ") and head[5:].isdigit() else 0


def example_csv() -> str:
    """The example file the import page offers: the header and three people."""
    rows = [[doc[0] for doc in COLUMN_DOCS]]
    rows += [[doc[3][i] for doc in COLUMN_DOCS] for i in range(3)]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _delimiter(text: str) -> str:
    """The header line's delimiter: the one of comma, semicolon and tab it holds most often
    (outside quotes). A one-column header (``email``) is read with commas."""
    header = text.split("\n", 1)[0]
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


@dataclass
class _Reference:
    """A row's e-mail and manager, kept for every row, valid or not, so the managers are
    checked on every line."""

    line: int
    email: str
    manager_email: str


def _parse(
    lines: Iterator[str], max_rows: int
) -> tuple[list[_Row], list[_Reference], list[str], list[str]]:
    """Valid rows, every row's manager reference, warnings and row errors; header errors
    raise at once. ``lines`` is read one at a time: only what validation keeps stays in
    memory."""
    errors: list[str] = []
    warnings: list[str] = []
    # Leading blank lines are read ahead only to tell an empty file; they go back in front.
    ahead = []
    for first in lines:
        ahead.append(first)
        if first.strip():
            break
    if not ahead or not ahead[-1].strip():
        raise PeopleImportError(["The file is empty."])
    delimiter = _delimiter(ahead[-1])
    reader = csv.reader(itertools.chain(ahead, lines), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise PeopleImportError([f"line 1: {exc}"]) from exc
    if any("\x00" in h for h in header):
        raise PeopleImportError([f"line {reader.line_num}: {NUL_ERROR}"])
    names = [h.strip().lower() for h in header]

    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise PeopleImportError(
            [
                f"line 1: the header lacks the required column(s) {', '.join(missing)}; "
                f"expected the header {','.join(COLUMNS)} (comma, semicolon or tab between "
                "the columns)"
            ]
        )
    seen_columns = set()
    for name in names:
        if name and name in seen_columns:
            errors.append(f'line 1: the column "{name}" appears twice')
        seen_columns.add(name)
    ignored = [
        h.strip() or f"(column {i + 1}, no name)"
        for i, (h, n) in enumerate(zip(header, names, strict=True))
        if n not in COLUMNS
    ]
    if ignored:
        warnings.append(f"line 1: ignored column(s) not used by the import: {', '.join(ignored)}")
    if errors:
        raise PeopleImportError(errors)

    index = {n: i for i, n in enumerate(names) if n in COLUMNS}
    max_lengths = {a: Person._meta.get_field(a).max_length for a in (*TEXT_ATTRIBUTES, "email")}
    rows: list[_Row] = []
    references: list[_Reference] = []
    first_line_of: dict[str, int] = {}
    line_end = reader.line_num
    data_rows = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"line {line_end + 1}: {exc}")
            break
        line, line_end = line_end + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue  # blank line
        if any("\x00" in c for c in cells):
            # PostgreSQL cannot store a NUL character: refuse it here, naming the line.
            errors.append(f"line {line}: {NUL_ERROR}")
            continue
        data_rows += 1
        if data_rows > max_rows:
            raise PeopleImportError(
                [
                    f"line {line}: the file has more than {max_rows:,} people, the limit set "
                    "by PEOPLE_IMPORT_MAX_ROWS; nothing was imported. Split it, or ask the "
                    "operator to raise the limit."
                ]
            )
        row_errors = []
        if len(cells) < len(names) or any(c.strip() for c in cells[len(names) :]):
            row_errors.append(
                f"line {line}: {len(cells)} values, but the header has {len(names)} columns"
            )

        def cell(column, cells=cells):
            if column not in index:
                return None
            position = index[column]
            return cells[position].strip() if position < len(cells) else ""

        email = cell("email")
        email_ok = False
        if not email:
            row_errors.append(f"line {line}: the e-mail is empty")
        else:
            try:
                validate_email(email)
                if len(email) > max_lengths["email"]:
                    raise ValidationError("too long")
                email_ok = True
            except ValidationError:
                row_errors.append(f'line {line}: "{email}" is not a valid e-mail')
        values = {}
        for attr in TEXT_ATTRIBUTES:
            value = cell(attr)
            if value is None:
                continue
            if len(value) > max_lengths[attr]:
                row_errors.append(
                    f"line {line}: the {attr.replace('_', ' ')} is longer than "
                    f"{max_lengths[attr]} characters"
                )
            values[attr] = value
        active = cell("active")
        if active is not None:
            if active.lower() in TRUE_VALUES:
                values["active"] = True
            elif active.lower() in FALSE_VALUES:
                values["active"] = False
            else:
                row_errors.append(
                    f'line {line}: "{active}" is not a valid value for active '
                    "(use true/false, yes/no, 1/0, y/n or leave it empty)"
                )
        if email_ok:
            first = first_line_of.get(email.lower())
            if first is not None:
                row_errors.append(
                    f'line {line}: "{email}" is a duplicate of line {first} '
                    "(e-mails are compared case-insensitively)"
                )
            else:
                first_line_of[email.lower()] = line
        manager_email = cell("manager_email")
        if email:
            references.append(_Reference(line, email, manager_email or ""))
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(_Row(line, email, values, manager_email))

    return rows, references, warnings, errors


def _check_managers(references: list[_Reference], existing: dict[str, Person]) -> list[str]:
    """Every row's manager must be in the file (valid or not: its own errors are reported
    on its line) or in the directory, and not the person themselves."""
    file_keys = {reference.email.lower() for reference in references}
    errors = []
    for reference in references:
        if not reference.manager_email:
            continue
        manager_key = reference.manager_email.lower()
        if manager_key == reference.email.lower():
            errors.append(f'line {reference.line}: "{reference.email}" cannot be their own manager')
        elif manager_key not in file_keys and manager_key not in existing:
            errors.append(
                f'line {reference.line}: the manager "{reference.manager_email}" is neither in '
                "the file nor in the directory"
            )
    return errors


def _insert_new_people(to_create: list[Person], pending: dict) -> None:
    """Insert managers before their reports, so every row goes in with its manager and no
    second pass is needed (Django's ``bulk_update`` is slow on thousands of rows). One
    ``bulk_create`` per level of the org chart. People who manage each other in a cycle go in
    without a manager and get it in one small update afterwards."""
    remaining = to_create
    cyclic: list[Person] = []
    while remaining:
        ready = [p for p in remaining if id(p) not in pending or pending[id(p)][1].pk is not None]
        if not ready:
            ready, cyclic = remaining, remaining
        for person in ready:
            link = pending.get(id(person))
            person.manager_id = link[1].pk if link else person.manager_id
        Person.objects.bulk_create(ready, batch_size=BATCH_SIZE)
        if any(p.pk is None for p in ready):
            # Backends that cannot return ids from a bulk insert: read them back.
            ids = {e.lower(): pk for pk, e in Person.objects.values_list("pk", "email")}
            for person in ready:
                person.pk = ids[person.email.lower()]
        remaining = [p for p in remaining if p.pk is None]
    for person in cyclic:
        person.manager_id = pending[id(person)][1].pk
    if cyclic:
        Person.objects.bulk_update(cyclic, ["manager"], batch_size=BATCH_SIZE)
    # Existing people whose new manager was just created.
    for person, manager in pending.values():
        person.manager_id = manager.pk


def _update_people(changes: list[tuple[Person, set[str]]], now) -> None:
    """``bulk_update`` per set of changed fields: a CASE per field and row is costly, and most
    people change in one or two fields only."""
    groups: dict[frozenset, list[Person]] = {}
    for person, fields in changes:
        groups.setdefault(frozenset(fields), []).append(person)
    for fields, people in groups.items():
        Person.objects.bulk_update(people, sorted(fields), batch_size=BATCH_SIZE)
    ids = [person.pk for person, _ in changes]
    for start in range(0, len(ids), BATCH_SIZE):
        Person.objects.filter(pk__in=ids[start : start + BATCH_SIZE]).update(updated_at=now)
