"""Routine log lines kept off the console unless VERBOSE_LOGS is set.

`manage.py up` streams the web server's, the worker's and beat's output into one console.
Left alone, a line per static file served and two or three lines per minute of beat's
housekeeping ticks bury what a person running it needs to see. Off by default:

- the web server's access lines for static files, and for the launcher's readiness probe
  (gunicorn's logger class below; pages and API calls are still logged);
- beat's "Sending due task" lines and the worker's "received" line for the frequent
  housekeeping tasks, and their "succeeded" line when the tick found nothing to do (a tick
  that enqueued or resent something is still logged, as is every failure).

VERBOSE_LOGS=true (settings) shows everything.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger as GunicornLogger

# Beat sends these every minute or few; their work, when there is any, is logged.
ROUTINE_TASKS = frozenset(
    {"governance.tasks.enqueue_due_sources", "governance.tasks.resend_lost_extractions"}
)
# The User-Agent of `manage.py up`'s "does the site answer yet?" request.
PROBE_USER_AGENT = "waic-up-readiness-probe"
# A routine task's result when it did nothing: every count zero, e.g. {'enqueued': 0}.
_NOTHING_DONE = re.compile(r"^\{'\w+': 0(, '\w+': 0)*\}$")


def verbose() -> bool:
    from django.conf import settings

    return bool(settings.VERBOSE_LOGS)


class RoutineTaskFilter(logging.Filter):
    """Drops the routine lines of beat and the worker (installed on Celery's loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args: Any = record.args
        if record.name == "celery.beat":
            # 'Scheduler: Sending due task %s (%s)', entry name and task name.
            sending = str(record.msg).startswith("Scheduler: Sending due task")
            return not (sending and isinstance(args, tuple) and args[-1] in ROUTINE_TASKS)
        if not isinstance(args, dict) or args.get("name") not in ROUTINE_TASKS:
            return True
        if "return_value" not in args:
            return False  # "received": whether there was anything to do shows at the end
        return not _NOTHING_DONE.match(str(args["return_value"]))


_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


def install_celery_filter() -> None:
    """Called once Celery has set up logging in a worker or beat process."""
    if verbose():
        return
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RoutineTaskFilter) for f in logger.filters):
            logger.addFilter(RoutineTaskFilter())


class AccessLogger(GunicornLogger):
    """gunicorn's logger without the access lines of static files and of the probe."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not verbose():
            from django.conf import settings

            path = environ.get("PATH_INFO", "")
            static = "/" + settings.STATIC_URL.lstrip("/")
            if path.startswith(static) or path == "/favicon.ico":
                return
            if environ.get("HTTP_USER_AGENT") == PROBE_USER_AGENT:
                return
        super().access(resp, req, environ, request_time)
