"""The routine lines of beat and the worker that `manage.py up` keeps off its console."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from celery.app.trace import LOG_RECEIVED, LOG_SUCCESS

from waic.quiet_logs import RoutineTaskFilter, install_celery_filter

ENQUEUE = "governance.tasks.enqueue_due_sources"


def _record(logger: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(logger, logging.INFO, __file__, 1, msg, args, None)


def _task(name: str, return_value: str | None = None) -> logging.LogRecord:
    context: dict[str, object] = {"id": "abc", "name": name, "args": "()", "kwargs": "{}"}
    if return_value is None:
        return _record("celery.worker.strategy", LOG_RECEIVED, context)
    context.update(return_value=return_value, runtime=0.01)
    return _record("celery.app.trace", LOG_SUCCESS, context)


@pytest.mark.parametrize(
    ("record", "shown"),
    [
        (_record("celery.beat", "Scheduler: Sending due task %s (%s)", "e", ENQUEUE), False),
        (
            _record(
                "celery.beat", "Scheduler: Sending due task %s (%s)", "d", "governance.tasks.x"
            ),
            True,
        ),
        (_record("celery.beat", "beat: Starting..."), True),
        (_task(ENQUEUE), False),
        (_task(ENQUEUE, "{'enqueued': 0}"), False),
        (_task("governance.tasks.resend_lost_extractions", "{'resent': 0}"), False),
        # A tick that found work is shown, as is every other task.
        (_task(ENQUEUE, "{'enqueued': 3}"), True),
        (_task("governance.tasks.resend_lost_extractions", "{'resent': 10}"), True),
        (_task("governance.tasks.build_dataset_dump"), True),
        (_task("governance.tasks.heartbeat", "{'status': 'ok'}"), True),
    ],
)
def test_routine_lines_are_dropped_and_the_rest_kept(
    record: logging.LogRecord, shown: bool
) -> None:
    # Formatting must still work on what is kept (the filter reads, never alters, args).
    record.getMessage()
    assert RoutineTaskFilter().filter(record) is shown


@pytest.mark.parametrize(("verbose", "installed"), [(False, True), (True, False)])
def test_the_filter_is_installed_unless_verbose(
    settings: Any, verbose: bool, installed: bool
) -> None:
    settings.VERBOSE_LOGS = verbose
    loggers = [logging.getLogger(name) for name in ("celery.beat", "celery.app.trace")]
    saved = [list(logger.filters) for logger in loggers]
    try:
        for logger in loggers:
            logger.filters = [f for f in logger.filters if not isinstance(f, RoutineTaskFilter)]
        install_celery_filter()
        install_celery_filter()  # twice (a worker sets up logging again): still one filter
        for logger in loggers:
            count = sum(isinstance(f, RoutineTaskFilter) for f in logger.filters)
            assert count == (1 if installed else 0)
    finally:
        for logger, filters in zip(loggers, saved, strict=True):
            logger.filters = filters
