#!/usr/bin/env python
"""Django's command-line utility, which also provides the embedded services.

With DATABASE_URL / REDIS_URL unset, commands that need them run against the
embedded PostgreSQL and Redis-protocol servers under var/ (see waic/services.py).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")
    from waic.services import provide_services_for_command

    provide_services_for_command(sys.argv)

    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
