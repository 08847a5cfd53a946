"""The Celery application: configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")

app = Celery("waic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _yield_the_cpu_to_pages(**kwargs: object) -> None:
    """Workers run below the web server's CPU priority (the pool's children inherit it):
    on a host they share with the web server, extraction uses the idle CPU and pages keep
    their speed (bench/RESULTS.md, search during ingestion). WORKER_IDLE_PRIORITY puts
    them in Linux's SCHED_IDLE class, which a waking web process always preempts (a
    niced worker still held a core for up to a scheduler slice: search p99 2.7x at rest);
    WORKER_NICENESS is added to their nice value, for what stays under the same class."""
    from django.conf import settings

    if settings.WORKER_IDLE_PRIORITY and hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
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
