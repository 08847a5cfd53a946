"""`manage.py seed`: load the seed dataset; running it twice changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.seed import DEFAULT_SEED_FILE, SeedError, load_seed


class Command(BaseCommand):
    help = (
        "Load the seed dataset (facts of the WAIC 2025 article with their evidence). "
        "Existing records are kept as curators left them unless --update is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file", type=Path, default=DEFAULT_SEED_FILE, help="A seed YAML file to load."
        )
        parser.add_argument(
            "--update",
            action="store_true",
            help="Overwrite existing records with the file's values (after correcting the file).",
        )

    def handle(self, *args: Any, file: Path, update: bool, **options: Any) -> None:
        try:
            report = load_seed(file, update=update)
        except (SeedError, OSError) as exc:
            raise CommandError(f"Seed not loaded ({file}): {exc}") from exc
        if report.changed:
            self.stdout.write(self.style.SUCCESS(f"Seed loaded from {file.name}."))
            self.stdout.write(report.summary())
        else:
            self.stdout.write(f"Seed already loaded from {file.name}: nothing to change.")
