"""CSV files that cannot become formulas (docs/security.md, promise 18): safe cells,
files that read back through csv.reader to the same cells, sent in pieces; the same rules in
SQL for the files PostgreSQL writes (COPY), and COPY's records ending in CRLF."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Integer, String, literal, select

from portal import csv_files
from portal.extensions import db

# --- CSV cells that cannot become formulas -------------------------------------------------


@pytest.mark.parametrize("first", ["=", "+", "-", "@", "\t", "\r", "\n", "\x00"])
def test_a_dangerous_first_character_is_neutralised(first):
    assert csv_files.safe_cell(f"{first}SUM(1)") == f"'{first}SUM(1)"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("Ada", "Ada"),
        ("", ""),
        (None, ""),
        (42, "42"),
        ("a=b", "a=b"),
        ("'=x", "'=x"),
        (" =x", " =x"),
        ("Zoë", "Zoë"),
    ],
)
def test_other_cells_are_left_alone(value, cell):
    assert csv_files.safe_cell(value) == cell


def parse(lines: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(lines, newline="")))


DANGEROUS = "".join(sorted(csv_files.DANGEROUS_FIRST))
cells = st.one_of(
    st.text(),  # every character but surrogates, control characters included
    st.text(alphabet=st.sampled_from(DANGEROUS + "\"',;' aZ\u00e9\u2028\x0b\x0c\x1c")),
)


@given(st.lists(st.lists(cells, min_size=1, max_size=6), max_size=8))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_every_file_round_trips_through_the_csv_reader(rows):
    """What csv_lines writes reads back, through csv.reader, as exactly the safe cells; no
    cell of the file begins with a dangerous character."""
    text = "".join(csv_files.csv_lines(rows))
    parsed = parse(text)
    assert parsed == [[csv_files.safe_cell(cell) for cell in row] for row in rows]
    for row in parsed:
        for cell in row:
            assert not cell or cell[0] not in csv_files.DANGEROUS_FIRST


@given(
    st.lists(st.lists(cells, min_size=3, max_size=3), max_size=30),
    st.integers(min_value=1, max_value=200),
)
@settings(max_examples=200)
def test_a_file_in_pieces_is_the_same_file(rows, chunk):
    """`csv_file` sends a header and the rows as UTF-8 in pieces: joined and decoded, they
    read back as the header and the safe rows, whatever the size of the pieces."""
    pieces = list(csv_files.csv_file(("a", "b", "c"), iter(rows), chunk=chunk))
    assert all(isinstance(piece, bytes) for piece in pieces)
    body = b"".join(pieces)
    assert body.startswith(b"\xef\xbb\xbf")  # a byte order mark, for spreadsheets
    parsed = parse(body.decode("utf-8-sig"))
    assert parsed == [["a", "b", "c"]] + [[csv_files.safe_cell(c) for c in row] for row in rows]


# --- the same rules in SQL (files written by PostgreSQL's COPY) ---------------------------

# What PostgreSQL text can hold: every character but NUL (and surrogates, as in Python).
pg_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
pg_cells = st.one_of(
    pg_text,
    st.text(alphabet=st.sampled_from(DANGEROUS.replace("\x00", "") + "\"', a\u3000\u2028\x85")),
)


@pytest.mark.postgres
@given(value=pg_cells, number=st.integers(min_value=-(2**31), max_value=2**31 - 1))
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_safe_sql_is_safe_cell(app, value, number):
    """The check that COPY's cells go through gives `safe_cell`'s text, for any text and
    any integer."""
    text, digits = db.session.execute(
        select(
            csv_files.safe_sql(literal(value, String)), csv_files.safe_sql(literal(number, Integer))
        )
    ).one()
    assert text == csv_files.safe_cell(value)
    assert digits == csv_files.safe_cell(number)
    assert db.session.scalar(select(csv_files.safe_sql(literal(None, String)))) is None


def pg_record(row: list[str], end: str) -> str:
    """One record as PostgreSQL's COPY writes CSV: a cell is quoted when it is empty or holds
    a comma, a quote or a line break."""
    return (
        ",".join(
            '"' + cell.replace('"', '""') + '"'
            if cell == "" or any(c in cell for c in ',"\r\n')
            else cell
            for cell in row
        )
        + end
    )


@given(
    st.lists(st.lists(cells, min_size=1, max_size=4), max_size=12),
    st.integers(min_value=1, max_value=120),
)
@settings(max_examples=300)
def test_crlf_blocks_end_records_with_crlf_and_keep_line_breaks_in_cells(rows, chunk):
    """COPY hands over one record at a time, ending in LF: the blocks end each record with
    CRLF, as csv.writer does, and leave a line break inside a quoted cell as it is."""
    records = [pg_record(row, "\n").encode("utf-8") for row in rows]
    blocks = list(csv_files.crlf_blocks(iter(records), chunk=chunk))
    body = b"".join(blocks)
    assert body == "".join(pg_record(row, "\r\n") for row in rows).encode("utf-8")
    assert all(block.endswith(b"\r\n") for block in blocks)
    assert parse(body.decode("utf-8")) == rows
