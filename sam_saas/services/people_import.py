"""Import the company directory from a CSV file.

One function serves ``manage.py import_people`` and the admin upload page. The file is
validated completely before anything is written (``people_csv`` reads it and checks every
row): any bad row means nothing is imported, and every error names its line. People are
upserted by e-mail, case-insensitively; nobody is ever deleted, ``deactivate_missing`` marks
absentees inactive.

This module decides what changes and saves it: who is created, updated, deactivated or
reactivated, the deactivation guard, the job result the import leaves, and the seats
re-judged afterwards.
"""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import JobRun, Person
from .people_csv import (
    PeopleImportError,
    check_managers,
    import_limits,
    line_of,
    parse,
    read_lines,
)

BATCH_SIZE = 500

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
    rows, references, warnings, errors = parse(read_lines(source, max_bytes), max_rows)

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
    errors += check_managers(references, existing)
    if errors:
        raise PeopleImportError(sorted(errors, key=line_of))
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
