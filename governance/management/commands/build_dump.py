"""`manage.py build_dump`: build the full dataset dump now (what the daily beat task does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from governance import dumps


class Command(BaseCommand):
    help = (
        "Build the full dataset dump (a zip of one CSV per table, a data dictionary and a "
        "manifest) into DUMPS_DIR, then keep only the newest DUMPS_KEEP dumps."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir", type=Path, default=None, help=f"Where to write (default {settings.DUMPS_DIR})"
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            help=f"How many dumps to keep (default DUMPS_KEEP, {settings.DUMPS_KEEP})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dump = dumps.build_dump(options["dir"], keep=options["keep"])
        self.stdout.write(self.style.SUCCESS(f"Wrote {dump.path} ({dump.size:,} bytes)"))
        for file, n in (dump.manifest or {}).get("row_counts", {}).items():
            self.stdout.write(f"  {file}: {n:,} rows")
