"""The directory file of the people import: its columns, its size limits, reading it line by
line, and validating every row before anything is written (``people_import`` applies it).

Columns: ``email`` is required; ``name``, ``department``, ``cost_center``, ``manager_email``
and ``active`` are optional, and a column left out of the file leaves that attribute of
existing people untouched. Other columns are ignored with a warning.

Excel saves "CSV" with semicolons where the decimal separator is a comma (much of Europe),
so the delimiter is read from the header line: comma, semicolon or tab. Every problem of a
line is reported, not only the first one, and every error names its line (the header is
line 1).
"""

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

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


@dataclass
class Row:
    line: int
    email: str
    values: dict  # attribute -> value, only for the columns present in the file
    manager_email: str | None  # None: column absent; "": no manager

    @property
    def key(self) -> str:
        return self.email.lower()


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


def read_lines(source, max_bytes: int) -> Iterator[str]:
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


def line_of(error: str) -> int:
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
class Reference:
    """A row's e-mail and manager, kept for every row, valid or not, so the managers are
    checked on every line."""

    line: int
    email: str
    manager_email: str


def parse(
    lines: Iterator[str], max_rows: int
) -> tuple[list[Row], list[Reference], list[str], list[str]]:
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
    rows: list[Row] = []
    references: list[Reference] = []
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
            references.append(Reference(line, email, manager_email or ""))
        if row_errors:
            errors.extend(row_errors)
            continue
        rows.append(Row(line, email, values, manager_email))

    return rows, references, warnings, errors


def check_managers(references: list[Reference], existing: dict[str, Person]) -> list[str]:
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
