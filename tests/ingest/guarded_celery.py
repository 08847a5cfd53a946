"""`python -m tests.ingest.guarded_celery -A waic worker ...`: Celery behind the loopback guard."""

from __future__ import annotations

import sys

from tests.ingest import loopback_guard

if __name__ == "__main__":
    loopback_guard.install()
    from celery.__main__ import main

    sys.argv[0] = "celery"
    main()
