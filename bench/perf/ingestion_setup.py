"""`python -m bench.perf.ingestion_setup < plan.json`: prepare an ingestion bench's database.

Run by bench/perf/ingestion.py in a process of its own, with DATABASE_URL naming the
scratch database, so that the caller's own Django (if any) is left alone. Migrates,
then registers one feed Source per URL (due now, as a curator's new source is) and
prints their ids as JSON: {"measured": [...], "warm": [...]}.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from governance.models import Source

    plan = json.load(sys.stdin)
    call_command("migrate", verbosity=0)
    # The seed's curated people, organizations and statements, as in production: the
    # candidates of a document are matched against them.
    call_command("seed", verbosity=0)
    ids: dict[str, list[int]] = {}
    for group in ("measured", "warm"):
        ids[group] = [
            Source.objects.create(name=f"{group} {i}", kind=Source.Kind.FEED, url=url).pk
            for i, url in enumerate(plan[group])
        ]
    print(json.dumps(ids))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
