"""Property tests (Hypothesis) for CSV formula neutralizing (governance.spreadsheet): no
written text cell starts with a character a spreadsheet evaluates, the stored value is
always recoverable, and a whole CSV row survives the csv module's round trip."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from governance import spreadsheet

# Text that is likely to hit the rules: leading quotes, triggers, then anything.
tricky = st.builds(
    lambda quotes, head, tail: quotes + head + tail,
    st.text(alphabet="'", max_size=3),
    st.text(alphabet="=+-@\t\r\n'\" ,;|!", max_size=3),
    st.text(),
)
cells = st.one_of(st.text(), tricky)


@given(cells)
def test_no_neutralized_cell_starts_with_a_trigger(value: str) -> None:
    cell = spreadsheet.neutralize(value)
    assert cell[:1] not in spreadsheet.TRIGGERS


@given(cells)
def test_the_original_is_recoverable(value: str) -> None:
    assert spreadsheet.restore(spreadsheet.neutralize(value)) == value


@given(cells)
def test_only_cells_that_need_it_change_and_only_by_one_quote(value: str) -> None:
    cell = spreadsheet.neutralize(value)
    assert cell == value or cell == "'" + value
    if value[:1] not in spreadsheet.TRIGGERS and not value.startswith("'"):
        assert cell == value


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.decimals(allow_nan=False)))
def test_numbers_are_written_as_they_are(number: object) -> None:
    assert spreadsheet.neutralize(number) is number


@given(st.lists(cells, min_size=1, max_size=6))
def test_a_row_read_back_restores_every_value(values: list[str]) -> None:
    out = io.StringIO()
    spreadsheet.Writer(out).writerow(values)
    [read] = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert all(cell[:1] not in spreadsheet.TRIGGERS for cell in read)
    assert [spreadsheet.restore(cell) for cell in read] == values
