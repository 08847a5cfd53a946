"""The Celery application: configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import os
import warnings

from celery import Celery
from celery.exceptions import SecurityWarning
from celery.signals import after_setup_logger, task_prerun, worker_init

from waic import broker_fix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")
broker_fix.install()  # a worker survives losing Redis mid-task (waic/broker_fix.py)

app = Celery("waic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery warns on every start of a worker run as root. Root is the normal user in a
# container, and the danger the warning is about is a pickled message running code as
# root: this worker accepts JSON only (CELERY_ACCEPT_CONTENT), and with pickle accepted
# Celery refuses to start as root at all, which this filter does not touch.
warnings.filterwarnings(
    "ignore",
    message="You're running the worker with superuser privileges",
    category=SecurityWarning,
)


@after_setup_logger.connect
def _quiet_routine_lines(**kwargs: object) -> None:
    """Beat's housekeeping ticks stay off the console unless VERBOSE_LOGS is set."""
    from waic.quiet_logs import install_celery_filter

    install_celery_filter()


@worker_init.connect
def _yield_the_cpu_to_pages(**kwargs: object) -> None:
    """Workers run at a lower CPU priority (WORKER_NICENESS, 10 by default; the pool's
    children inherit it): on a host they share with the web server, extraction uses the
    idle CPU and pages keep their speed (bench/RESULTS.md, search during ingestion).
    Linux's SCHED_IDLE class was tried too: no better for the search's p99 (12.8-13.2 ms
    against 12.8-19.6 ms at nice 10), and it can starve a task past its time limit."""
    from django.conf import settings

    if settings.WORKER_NICENESS:
        os.nice(settings.WORKER_NICENESS)


@task_prerun.connect
def _check_database_connections(task: object = None, **kwargs: object) -> None:
    """Connections outlive a task (CELERY_DB_REUSE_MAX), so each task starts as a request
    does: one that errored or is older than CONN_MAX_AGE is closed, and the others are
    pinged on first use (CONN_HEALTH_CHECKS), so a restarted PostgreSQL costs no task.
    Not for a task applied in the caller's process: its connection is the caller's."""
    from django.db import close_old_connections

    if not getattr(getattr(task, "request", None), "is_eager", False):
        close_old_connections()
