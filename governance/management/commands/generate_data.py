"""`manage.py generate_data`: a large deterministic dataset for browsing and benchmarks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from governance.generate import AlreadyGenerated, clear, generate


class Command(BaseCommand):
    help = (
        "Generate a large, realistic, deterministic dataset (fictional people, organizations, "
        "events, proposals, news documents and statements with exact evidence) through the "
        "real tables. Same --seed and options give the same rows. Generated records are "
        "marked (the 'Generated data' source; slugs starting with 'gen--') and --clear "
        "removes only them, never seed or curated data. No django-simple-history rows are "
        "written for generated data. Running again without --clear is an error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--statements", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--people", type=int, default=20_000)
        parser.add_argument("--organizations", type=int, default=5_000)
        parser.add_argument("--proposals", type=int, default=2_000)
        parser.add_argument("--documents", type=int, default=200_000)
        parser.add_argument("--events", type=int, default=300)
        parser.add_argument(
            "--clear", action="store_true", help="Delete previously generated data first."
        )
        parser.add_argument(
            "--clear-only", action="store_true", help="Delete generated data and stop."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError(
                "The database has unapplied migrations: run `uv run python manage.py migrate`"
                " (or `manage.py up`, which migrates) first."
            )
        for name in ("statements", "people", "organizations", "proposals", "documents", "events"):
            if options[name] < 0:
                raise CommandError(f"--{name} cannot be negative")
        if options["clear"] or options["clear_only"]:
            removed = clear()
            total = sum(removed.values())
            self.stdout.write(f"Cleared {total:,} generated rows.")
            if options["clear_only"]:
                return
        try:
            summary = generate(
                statements=options["statements"],
                seed=options["seed"],
                people=options["people"],
                organizations=options["organizations"],
                proposals=options["proposals"],
                documents=options["documents"],
                events=options["events"],
                progress=options["verbosity"] > 0,
            )
        except AlreadyGenerated as exc:
            raise CommandError(
                "Generated data is already present; run with --clear to replace it."
            ) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Generated in {summary.seconds:.1f} s:"))
        for line in summary.lines():
            self.stdout.write("  " + line)
