"""COPY writers: rows go to PostgreSQL as tab-separated text, a batch at a time.

COPY is several times faster than INSERT for large batches; ids come from the
tables' own identity sequences first, so rows can point at each other.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Model


def _escape(text: str) -> str:
    # Chained replace() runs in C; str.translate with a dict is several times slower.
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def allocate_ids(model: type[Model], n: int) -> list[int]:
    """Reserve n ids from the table's identity sequence, in order."""
    if n == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, n],
        )
        return [row[0] for row in cursor.fetchall()]


def _field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list | tuple):
        literal = "{" + ",".join('"' + v.replace('"', '\\"') + '"' for v in value) + "}"
        return _escape(literal)
    return str(value)  # ints, dates and aware datetimes (isoformat) as PostgreSQL reads them


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into table; returns how many were written."""
    buffer = io.StringIO()
    n = 0
    for row in rows:
        buffer.write("\t".join(_field(v) for v in row))
        buffer.write("\n")
        n += 1
    if n:
        buffer.seek(0)
        cols = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({cols}) FROM STDIN", buffer)
    return n
