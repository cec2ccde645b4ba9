"""Vendor strings made safe to store.

A vendor record is input we do not control: a member name of 300 characters, or one holding a
NUL byte, made PostgreSQL refuse the whole download (``value too long``, ``cannot contain NUL
(0x00) characters``) and nothing was stored. Connectors pass every vendor string through a
:class:`TextCleaner` before it reaches a model: control characters and lone surrogates go
(line breaks and tabs become spaces), and a value longer than its column is cut to fit with an
ellipsis. The cleaner counts what it changed, per field, so the job run can say so in a warning
instead of failing.

Identifiers (a seat's URI) cannot be cut without pointing at something else: ``key()``
refuses them with :class:`RecordSkipped`, and the connector skips that one record.
"""

from __future__ import annotations

import re
from collections import Counter

ELLIPSIS = "…"
# C0 controls and DEL, C1 controls, and lone UTF-16 surrogates (which no database encodes).
_DROP = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACE = re.compile(r"[\t\n\r]")
# Anything either pattern would change: one search lets clean text (nearly all of it) through
# untouched, instead of two substitutions per value.
_UNCLEAN = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class RecordSkipped(ValueError):
    """A vendor record that cannot be stored as given (an identifier too long or missing)."""


def clean_text(value, max_length: int | None = None) -> str:
    """``value`` as one line of printable text, at most ``max_length`` characters."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if (max_length is None or len(text) <= max_length) and not _UNCLEAN.search(text):
        return text
    text = _DROP.sub("", _SPACE.sub(" ", text))
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1].rstrip() + ELLIPSIS
    return text


def column_length(model, field_name: str) -> int | None:
    return model._meta.get_field(field_name).max_length


class TextCleaner:
    """Cleans vendor strings and counts, per field, how many it had to change."""

    def __init__(self) -> None:
        self.changed: Counter[str] = Counter()
        self.skipped: list[str] = []

    def text(self, value, max_length: int | None, field: str) -> str:
        cleaned = clean_text(value, max_length)
        if cleaned is not value and cleaned != ("" if value is None else value):
            self.changed[field] += 1
        return cleaned

    def key(self, value, max_length: int | None, field: str) -> str:
        """An identifier: cleaned of control characters, never cut. Refused when empty or
        longer than its column."""
        cleaned = clean_text(value)
        if not cleaned:
            raise RecordSkipped(f"no {field}")
        if max_length is not None and len(cleaned) > max_length:
            raise RecordSkipped(f"{field} longer than {max_length} characters")
        if cleaned != value:
            self.changed[field] += 1
        return cleaned

    def skip(self, reason: str) -> None:
        self.skipped.append(reason)

    def warnings(self, what: str = "records") -> list[str]:
        """Job-run warnings saying what was cleaned and what was skipped (none: [])."""
        found = []
        if self.changed:
            fields = ", ".join(f"{name} ×{count}" for name, count in sorted(self.changed.items()))
            found.append(
                f"{sum(self.changed.values())} vendor value(s) were cleaned before storing "
                f"(control characters removed or cut to the column length): {fields}."
            )
        if self.skipped:
            reasons = Counter(self.skipped)
            listed = ", ".join(f"{reason} ×{count}" for reason, count in sorted(reasons.items()))
            found.append(
                f"{len(self.skipped)} vendor {what} could not be stored and were skipped: {listed}."
            )
        return found
