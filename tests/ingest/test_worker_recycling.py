"""WORKER_MAX_MEMORY_MB and WORKER_MAX_TASKS reach a real worker: its pool child is
replaced after a task once past either (bench/worker-memory.md measures why)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from governance.tasks import heartbeat
from tests.ingest.worker import Worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.jobs]


def _pool_child(worker: Worker, *, other_than: int | None = None, timeout: float = 10) -> int:
    """The worker's one pool child; with other_than, wait (a while) for a different one."""
    deadline = time.monotonic() + timeout
    pid = 0
    while time.monotonic() < deadline:
        children = worker.pool_children()
        if len(children) == 1:
            pid = children[0].pid
            if other_than is None or pid != other_than:
                return pid
        time.sleep(0.1)
    return pid


def _heartbeat(worker: Worker, done: int) -> None:
    heartbeat.delay()
    worker.wait_for_log(
        r"(?s)" + r"Task governance\.tasks\.heartbeat\[[^\]]+\] succeeded.*" * done, 30
    )


@pytest.mark.parametrize(
    "env",
    # Any child is past 1 MB; the default task limit (1000) is far off in the first case.
    [{"WORKER_MAX_MEMORY_MB": "1"}, {"WORKER_MAX_TASKS": "1", "WORKER_MAX_MEMORY_MB": "0"}],
)
def test_a_pool_child_past_its_limit_is_replaced_after_its_task(
    tmp_path: Path, env: dict[str, str]
) -> None:
    worker = Worker(tmp_path, **env).start()
    try:
        children = [_pool_child(worker)]
        for done in (1, 2):
            _heartbeat(worker, done)
            children.append(_pool_child(worker, other_than=children[-1]))
        assert worker.process.poll() is None
    finally:
        worker.stop()
    assert len(set(children)) == 3, children  # a new child after each task


def test_under_its_limits_a_pool_child_is_kept(tmp_path: Path) -> None:
    worker = Worker(tmp_path, WORKER_MAX_MEMORY_MB="4000", WORKER_MAX_TASKS="100").start()
    try:
        first = _pool_child(worker)
        for done in (1, 2):
            _heartbeat(worker, done)
        time.sleep(1)  # a recycled child would have been replaced by now
        assert _pool_child(worker) == first
    finally:
        worker.stop()
