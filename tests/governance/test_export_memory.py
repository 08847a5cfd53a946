"""The statements export streams in constant memory: over 100,000 generated statements
(manage.py generate_data), Python's peak allocation while the CSV is consumed is a small
fraction of the output, and about the same for all rows as for a quarter of them.

About 50 s, most of it generating the data. Measured: a peak of ~4.5 MiB for both 25,000
and 100,000 rows (10 and 42 MB of CSV); bench/export_memory.py measures 1,000,000 rows
(bench/exports.md).
"""

from __future__ import annotations

import datetime
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client

from governance import models

pytestmark = pytest.mark.django_db

STATEMENTS = 100_000
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def generated(django_db_setup: Any, django_db_blocker: Any) -> Iterator[int]:
    """100,000 statements with their speakers, documents and evidence; rolled back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command(
            "generate_data",
            statements=STATEMENTS,
            people=2000,
            organizations=200,
            proposals=100,
            documents=5000,
            events=30,
            verbosity=0,
        )
        yield models.Statement.objects.count()
        transaction.set_rollback(True)


@dataclass
class Consumed:
    rows: int
    size: int
    peak: int


def consume(client: Client, params: dict[str, str]) -> Consumed:
    """Read the export chunk by chunk, as a server does, keeping nothing (the test client
    closes the response when the body is exhausted)."""
    tracemalloc.start()
    try:
        response = client.get("/statements/", {**params, "format": "csv"})
        assert response.status_code == 200 and response.streaming
        size = lines = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Consumed(lines - 1, size, peak)  # less the header line


def test_memory_does_not_grow_with_the_rows(client: Client, generated: int) -> None:
    assert generated >= STATEMENTS
    dated = models.Statement.objects.filter(said_on__isnull=False).order_by("said_on", "id")
    cutoff: datetime.date = dated.values_list("said_on", flat=True)[STATEMENTS // 4]
    quarter_count = models.Statement.objects.filter(said_on__lte=cutoff).count()
    client.get("/statements/", {"format": "csv", "to": "2000-01-01"})  # warm up imports

    quarter = consume(client, {"to": cutoff.isoformat()})
    everything = consume(client, {})

    # The filter holds, and every row came through.
    assert quarter.rows == quarter_count
    assert everything.rows == generated
    assert everything.size > 3.5 * quarter.size
    # Constant memory: four times the rows, about the same peak, far below the output.
    assert everything.peak < quarter.peak * 1.3 + 1 * MiB, (quarter, everything)
    assert everything.peak < everything.size / 5, everything
