"""The streaming CSV writer: escaping, encoding, dates and numbers."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from sam_saas.reports.csv_stream import escape, iso, plain_decimal, stream_rows


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("ana@corp.example", "ana@corp.example"),
        ("Ana = Bob", "Ana = Bob"),
        ("", ""),
        (None, None),
    ],
)
def test_it_escapes_cells_that_start_a_formula(value, expected):
    assert escape(value) == expected


def _read(chunks):
    return b"".join(chunks)


def test_it_streams_a_header_then_rows_in_chunks():
    rows = ([i, f"user{i}@corp.example"] for i in range(4501))

    chunks = list(stream_rows(["id", "e-mail"], rows))

    assert len(chunks) == 1 + 3  # the header, then 2000 + 2000 + 501 rows
    parsed = list(csv.reader(io.StringIO(_read(chunks).decode("utf-8"))))
    assert parsed[0] == ["id", "e-mail"]
    assert parsed[1] == ["0", "user0@corp.example"]
    assert len(parsed) == 4502


def test_it_quotes_like_the_csv_module_and_reads_back():
    rows = [
        ["Lima, Ana", 'Say "hi"', "two\nlines", "cr\rhere", None, 3, Decimal("1E+2")],
        ["plain", "", "x", "y", True, -1, Decimal("0.50")],
    ]

    body = _read(stream_rows(list("abcdefg"), rows)).decode("utf-8")

    expected = io.StringIO()
    csv.writer(expected, lineterminator="\r\n").writerows(
        [
            list("abcdefg"),
            *[[("100" if isinstance(v, Decimal) and v == 100 else v) for v in row] for row in rows],
        ]
    )
    assert body == expected.getvalue()
    parsed = list(csv.reader(io.StringIO(body, newline="")))
    assert parsed[1] == ["Lima, Ana", 'Say "hi"', "two\nlines", "cr\rhere", "", "3", "100"]
    assert parsed[2] == ["plain", "", "x", "y", "True", "-1", "0.50"]


def test_it_writes_utf8_with_an_optional_byte_order_mark():
    plain = _read(stream_rows(["name"], [["Zoë"]]))
    excel = _read(stream_rows(["name"], [["Zoë"]], bom=True))

    assert plain == "name\r\nZoë\r\n".encode()
    assert excel == b"\xef\xbb\xbf" + plain


def test_it_writes_iso_dates_and_plain_decimals():
    moment = dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)

    assert iso(moment) == "2026-03-01T09:30:15+00:00"
    assert iso(dt.date(2026, 3, 1)) == "2026-03-01"
    assert iso(None) is None
    assert plain_decimal(Decimal("1.2E+3")) == "1200"
    assert plain_decimal(Decimal("-360.50")) == "-360.50"  # a number, not escaped
