"""The one CSV writer every export uses (KPI, open data, reconciliation): RFC 4180 with
CRLF line ends, and no cell a spreadsheet would run as a formula (CSV injection).

A text cell starting with `= + - @`, a tab or a carriage return (OWASP's list), or
with the fullwidth `＝ ＋ － ＠` that Japanese Excel also reads as a formula, is written
with a leading `'`, which spreadsheets show as text. Numbers are written as numbers, a
negative one included (a refund of -300 yen stays -300, summable in Excel): a number
cannot carry a formula. So a value that is a number must reach the writer as an int,
not as a string; text that merely looks like one ("-3" typed by a user) is escaped.
See docs/decisions/0004-csv-cells.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal

Cell = str | int | float | Decimal | None
"""None is an empty cell; a bool is written 1/0, as every export of the project does."""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"


def cell_text(value: Cell) -> str:
    """What goes between the commas (before RFC 4180 quoting)."""
    if isinstance(value, str):  # most cells: tested first
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


class CsvWriter:
    """`csv.writer` over a text buffer, every cell passed through `cell_text`."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._writer = csv.writer(buffer, lineterminator="\r\n")

    def writerow(self, row: Sequence[Cell]) -> None:
        self._writer.writerow([cell_text(value) for value in row])

    def writerows(self, rows: Iterable[Sequence[Cell]]) -> None:
        for row in rows:
            self.writerow(row)


def written_cell(value: Cell) -> str:
    """`value` exactly as `CsvWriter` writes it in a row of several cells: escaped, then
    quoted where RFC 4180 needs it. For a cell repeated on thousands of rows (a
    procedure's name), worked out once; rows are then joined by hand with `,` and CRLF."""
    buffer = io.StringIO()
    # A second, empty cell: csv writes a row of one empty cell as "" (not as nothing).
    CsvWriter(buffer).writerow([value, None])
    return buffer.getvalue()[: -len(",\r\n")]


def encode(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, bom: bool) -> bytes:
    """One header row, then the rows, as UTF-8; every line ends in CRLF, the last too.
    A byte order mark first when Excel is the reader (staff's downloads), none for
    machine readers (open data)."""
    buffer = io.StringIO()
    if bom:
        buffer.write(BOM)
    writer = CsvWriter(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")
