"""Celery tasks: thin and idempotent; keyword-only JSON arguments, a dict as the result."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(name="governance.tasks.heartbeat")
def heartbeat() -> dict[str, str]:
    """Beat enqueues this every minute (settings), so the log shows worker and beat alive."""
    at = timezone.now().isoformat()
    logger.info("heartbeat at %s", at)
    return {"status": "ok", "at": at}
