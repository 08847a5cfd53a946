"""`manage.py extract FILE [--json]`: run the extraction pipeline on a text file.

Touches no database: it prints what the rules find, to try them on an article.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.extract.pipeline import extract


class Command(BaseCommand):
    # System checks would connect (GeneratedField asks the server's version); this
    # command works without any database.
    requires_system_checks: list[str] = []
    help = "Print the countries, people, organizations, quotes, proposals, figures and dates "
    "found in a text file (no database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--json", action="store_true", help="Print JSON (the API shape).")
        parser.add_argument(
            "--published",
            type=date.fromisoformat,
            help="The document's date (YYYY-MM-DD), to resolve 'Saturday' or 'today'.",
        )

    def handle(self, *args: Any, file: Path, **options: Any) -> None:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {file} as UTF-8 text: {exc}") from exc
        extraction = extract(text, published=options["published"])
        if options["json"]:
            self.stdout.write(json.dumps(extraction.as_json(), ensure_ascii=False, indent=2))
            return
        if not extraction.supported:
            self.stdout.write(
                f"Language {extraction.language!r}: extraction not supported for this language."
            )
            return
        out = self.stdout.write
        out(f"Countries ({len(extraction.countries)}):")
        for c in extraction.countries:
            out(f"  {c.code}  {', '.join(sorted({m.text for m in c.mentions}))}")
        out(f"People ({len(extraction.people)}):")
        for p in extraction.people:
            role = ", ".join(x for x in (p.role, p.affiliation) if x)
            out(f"  {p.name}" + (f" — {role}" if role else ""))
        out(f"Organizations ({len(extraction.organizations)}):")
        for o in extraction.organizations:
            out(f"  {o.name}" + (f" ({o.kind})" if o.kind else ""))
        out(f"Quotes ({len(extraction.quotes)}):")
        for q in extraction.quotes:
            out(f"  {q.speaker} [{q.kind}]: “{q.text}”")
        out(f"Proposals ({len(extraction.proposals)}):")
        for pr in extraction.proposals:
            out(f"  {pr.proposer}: {pr.text}")
            for item in pr.items:
                out(f"    - {item}")
        out(f"Figures ({len(extraction.figures)}):")
        for f in extraction.figures:
            out(f"  {f.qualifier} {f.value} {f.unit}")
        out(f"Dates ({len(extraction.dates)}):")
        for d in extraction.dates:
            out(f"  {d.text} → {d.date.isoformat() if d.date else '?'}")
