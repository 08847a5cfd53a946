"""CSV cells that are safe to open in a spreadsheet: every CSV the tracker writes goes
through here (list exports and the dataset dump).

Titles, authors and quotes come from feeds nobody reviewed, so a cell such as
`=cmd|' /C calc'!A0` or `@SUM(1+1)` would run as a formula when the file is opened in
Excel, LibreOffice or Google Sheets. As OWASP recommends ("CSV Injection"), a text cell
starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a single quote in
front, which spreadsheets read as "this is text". The JSON exports keep the raw value.

Choices:
- Only text is neutralized. A number the exporter writes as a number (an int, float or
  Decimal from a numeric column, e.g. a negative figure) is data: a spreadsheet reads
  `-3` as minus three, not a formula. The same characters in a text column (a title
  "-5 reasons", a value typed as text) are neutralized like any other text.
- The quote is reversible: a text cell that already starts with quotes followed by a
  trigger (`'=x`) gets one more quote too, so `restore` gives back exactly the stored
  value for every cell (`'=x` -> `''=x` -> `'=x`), while text that merely starts with a
  quote ("'Tis") is written as it is.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

# OWASP's list: what makes Excel, LibreOffice Calc or Google Sheets evaluate a cell.
TRIGGERS = frozenset("=+-@\t\r")
QUOTE = "'"


def _needs_quote(text: str) -> bool:
    rest = text.lstrip(QUOTE)
    return bool(rest) and rest[0] in TRIGGERS


def neutralize(value: Any) -> Any:
    """The cell to write for `value`: text a spreadsheet would evaluate gets a leading
    quote; numbers and everything else are returned unchanged."""
    if isinstance(value, str) and _needs_quote(value):
        return QUOTE + value
    return value


def restore(cell: str) -> str:
    """The value a neutralized text cell stood for (what the JSON export holds)."""
    if cell.startswith(QUOTE) and _needs_quote(cell[1:]):
        return cell[1:]
    return cell


class _File(Protocol):
    def write(self, text: str, /) -> Any: ...


class Writer:
    """csv.writer whose every text cell is neutralized. `writerow` returns what the file's
    write returned (the line itself, for an echoing file in a streamed response)."""

    def __init__(self, file: _File, **fmt: Any) -> None:
        self._writer = csv.writer(file, **fmt)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralize(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class DictWriter(csv.DictWriter):
    """csv.DictWriter whose every text cell is neutralized (header names are ours)."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({key: neutralize(value) for key, value in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for rowdict in rowdicts:
            self.writerow(rowdict)
