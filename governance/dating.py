# En dashes in date ranges are this module's subject, not typos.
# ruff: noqa: RUF002
"""How a statement's or participation row's date reads: its own date, or the dates of
the event it was reported at, marked as inferred from the event."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils.dateformat import format as date_format

FROM_THE_EVENT = "from the event"


def range_label(start: datetime.date, end: datetime.date) -> str:
    """'26 Jul 2025', '26–28 Jul 2025', '30 Jun – 2 Jul 2025', '30 Dec 2024 – 2 Jan 2025'."""
    if start == end:
        return date_format(start, "j M Y")
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{date_format(end, 'j M Y')}"
    if start.year == end.year:
        return f"{date_format(start, 'j M')} – {date_format(end, 'j M Y')}"
    return f"{date_format(start, 'j M Y')} – {date_format(end, 'j M Y')}"


def inferred(record: Any) -> tuple[datetime.date, datetime.date] | None:
    """The event's dates a record without its own date is shown with, if any."""
    if record.own_date is None and record.date_start is not None:
        return record.date_start, record.date_end or record.date_start
    return None


def date_label(record: Any, own_format: str = "j M Y") -> str:
    """'26 Jul 2025', '26–28 Jul 2025, from the event' or 'Undated'."""
    if record.own_date is not None:
        return date_format(record.own_date, own_format)
    if span := inferred(record):
        return f"{range_label(*span)}, {FROM_THE_EVENT}"
    return "Undated"


def iso_interval(record: Any) -> str:
    """The dates as an ISO 8601 value: one day, or 'start/end' for a range."""
    start, end = record.date_start, record.date_end
    if start is None:
        return ""
    return start.isoformat() if end in (None, start) else f"{start.isoformat()}/{end.isoformat()}"
