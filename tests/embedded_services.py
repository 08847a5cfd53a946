"""Pytest plugin: embedded PostgreSQL and Redis for the test session.

When DATABASE_URL / REDIS_URL are unset, starts throwaway servers (waic.services.
start_test_services) and exports their URLs, then stops them when the session ends.

It is loaded with `-p tests.embedded_services` (pyproject addopts), not from conftest.py:
pytest-django reads the settings in its pytest_load_initial_conftests hook, before any
conftest.py is imported, and the settings need the URLs.
"""

from __future__ import annotations

import os
import uuid

import pytest

from waic import services


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    options = early_config.known_args_namespace
    if getattr(options, "help", False) or getattr(options, "version", False):
        return
    services.load_dotenv()
    # The session's own Celery queue: test workers never take jobs of a running tracker
    # on the same Redis, and the tracker's workers never take the tests' jobs.
    os.environ["CELERY_QUEUE"] = f"test-{uuid.uuid4().hex[:12]}"
    # Likewise its own cache keys: cached counts of another process's test data (another
    # pytest-xdist worker's) must never answer this one's pages.
    os.environ["CACHE_KEY_PREFIX"] = os.environ["CELERY_QUEUE"]
    # The test client's requests count as the web server's load (governance/web_load.py):
    # test workers would wait for a test that just made requests. Its tests turn it on.
    os.environ.setdefault("WORKER_YIELD_AT", "0")
    postgres = not os.environ.get("DATABASE_URL")
    redis = not os.environ.get("REDIS_URL")
    if not (postgres or redis):
        return
    try:
        started = services.start_test_services(postgres=postgres, redis=redis)
    except services.ServiceError as exc:
        raise pytest.UsageError(f"embedded test servers: {exc}") from None
    started.export()
    early_config.add_cleanup(started.stop)
