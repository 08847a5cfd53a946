"""A worker keeps its PostgreSQL connection across tasks (CELERY_DB_REUSE_MAX) and
replaces one the server ended, before the next task uses it: real worker, real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from governance.models import Document
from governance.tasks import extract_document
from tests.factories import DocumentFactory
from tests.ingest.test_jobs import wait_until
from tests.ingest.worker import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.jobs]


def others_connected() -> set[int]:
    """Backends of this test database other than the test's own: the worker's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return {pid for (pid,) in cursor.fetchall()}


def extracted(document: Document) -> None:
    extract_document.delay(document_id=document.pk)
    wait_until(
        lambda: Document.objects.get(pk=document.pk).extraction_status != "pending",
        timeout=60,
        what=f"extraction of document {document.pk}",
    )
    assert Document.objects.get(pk=document.pk).extraction_status == "done"


def test_connection_is_reused_and_a_dead_one_replaced(tmp_path: Path) -> None:
    first, second, third = DocumentFactory.create_batch(3)
    worker = Worker(tmp_path, CONN_MAX_AGE="60").start()
    try:
        extracted(first)
        kept = others_connected()
        assert kept, "the worker closed its connection after the task"
        extracted(second)
        assert kept & others_connected(), "the second task opened a new connection"
        # As a PostgreSQL restart does: the worker's connection ends between two tasks.
        with connection.cursor() as cursor:
            for pid in kept:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        wait_until(lambda: not (kept & others_connected()), timeout=10, what="termination")
        extracted(third)
        assert "OperationalError" not in worker.log_path.read_text()
    finally:
        worker.stop()
