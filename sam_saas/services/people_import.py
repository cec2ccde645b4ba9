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

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Person

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
    text = _decode(_read(source))
    rows, references, warnings, errors = _parse(text)

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
    except IntegrityError as exc:
        # Someone added one of these e-mails while we were validating.
        raise PeopleImportError(
            [f"The directory changed during the import ({exc}); nothing was imported. Retry."]
        ) from exc
    if result.created or result.updated or result.deactivated:
        from .rejudge import apply_at_once

        result.rules = apply_at_once(trigger=trigger)
    return result


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


def _read(source) -> bytes | str:
    if isinstance(source, bytes | str):
        return source
    if hasattr(source, "open") and hasattr(source, "chunks"):  # Django UploadedFile
        source.seek(0)
    return source.read()


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise PeopleImportError(
                [
                    f"line {line}: the file is not UTF-8 encoded (byte 0x{data[exc.start]:02x}); "
                    'save it as "CSV UTF-8" and try again.'
                ]
            ) from exc
    if not text.strip():
        raise PeopleImportError(["The file is empty."])
    return text


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


def _parse(text: str) -> tuple[list[_Row], list[_Reference], list[str], list[str]]:
    """Valid rows, every row's manager reference, warnings and row errors; header errors
    raise at once."""
    errors: list[str] = []
    warnings: list[str] = []
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise PeopleImportError([f"line 1: {exc}"]) from exc
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
