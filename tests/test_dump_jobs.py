"""The daily dump task on a real Celery worker (Redis broker, the test database).

This commits (transaction=True), so it lives outside tests/governance/: a flush there
would run before test_review's serialized_rollback test, whose restored content types
then collide with the ones the flush recreated.
"""

from __future__ import annotations

import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from governance import dumps, models
from governance.tasks import build_dataset_dump
from tests import factories
from tests.ingest.worker import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.jobs]


@pytest.fixture
def dumps_dir(tmp_path: Path) -> Path:
    return tmp_path / "dumps"


@pytest.fixture
def worker(tmp_path: Path, dumps_dir: Path) -> Iterator[Worker]:
    started = Worker(tmp_path, DUMPS_DIR=str(dumps_dir), DUMPS_KEEP="2").start()
    yield started
    started.stop()


def wait_for_dumps(directory: Path, n: int, worker: Worker, timeout: float = 60) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [d.path for d in dumps.list_dumps(directory, with_manifest=False)]
        if len(found) >= n:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no dump written:\n{worker.log()[-3000:]}")


def test_the_task_builds_a_dump_on_a_worker(worker: Worker, dumps_dir: Path) -> None:
    statements = factories.StatementFactory.create_batch(3)
    build_dataset_dump.delay()
    (path,) = wait_for_dumps(dumps_dir, 1, worker)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        statements_csv = archive.read("statements.csv").decode()
    assert manifest["row_counts"]["statements.csv"] == len(statements)
    assert manifest["row_counts"]["countries.csv"] == models.Country.objects.count()
    for s in statements:
        assert s.text in statements_csv
    assert "build_dataset_dump" in worker.log() and "succeeded" in worker.log()
    # Two more runs: the worker's DUMPS_KEEP=2 leaves the newest two.
    time.sleep(1.1)  # dumps are named by the second
    build_dataset_dump.delay()
    wait_for_dumps(dumps_dir, 2, worker)
    time.sleep(1.1)
    build_dataset_dump.delay()
    deadline = time.monotonic() + 60
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not path.exists(), "the oldest dump should have been pruned"
    assert len(dumps.list_dumps(dumps_dir, with_manifest=False)) == 2
