"""The Celery application: configured from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")

app = Celery("waic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _yield_the_cpu_to_pages(**kwargs: object) -> None:
    """Workers run at a lower CPU priority (WORKER_NICENESS, 10 by default; the pool's
    children inherit it): on a host they share with the web server, extraction uses the
    idle CPU and pages keep their speed (bench/RESULTS.md, search during ingestion)."""
    from django.conf import settings

    if settings.WORKER_NICENESS:
        os.nice(settings.WORKER_NICENESS)
