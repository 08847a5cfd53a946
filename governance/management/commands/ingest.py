"""`manage.py ingest URL_OR_PATH ...`: register sources and ingest them now, in-process."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_duration
from tqdm import tqdm

from governance.ingest import pipeline, scheduling
from governance.ingest.errors import FailureReason, IngestError
from governance.ingest.fetch import FetchResult, fetch, refusal
from governance.ingest.parse import ParsedDocument, parse_feed
from governance.models import INTERVAL_RULE, IngestRun, Source, validate_interval

KINDS = {"feed": Source.Kind.FEED, "page": Source.Kind.PAGE, "text": Source.Kind.MANUAL}


def progress(entries: list[ParsedDocument]) -> Iterable[ParsedDocument]:
    # A bar only for enough entries to wait for, and only on a terminal.
    return tqdm(entries, unit="entry", disable=len(entries) < 10 or None, file=sys.stderr)


class Command(BaseCommand):
    help = (
        "Register each URL or file as a Source (if new) and ingest it now, printing one line "
        "per source. Exits 1 when any source failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("targets", nargs="*", metavar="URL_OR_PATH")
        parser.add_argument(
            "--kind",
            choices=sorted(KINDS),
            help="feed, page or text (a local file); guessed when omitted.",
        )
        parser.add_argument("--name", help="Name of the new source (one target only).")
        parser.add_argument(
            "--interval",
            help="How often to fetch a new feed or page source: HH:MM:SS, 'DAYS HH:MM:SS' "
            "or ISO 8601 (PT6H), from a minute to a year (default: an hour).",
        )
        parser.add_argument("--due", action="store_true", help="Ingest every due source.")

    def handle(self, *args: Any, targets: list[str], **options: Any) -> None:
        if not targets and not options["due"]:
            raise CommandError("Give URLs or files to ingest, or --due.")
        if options["name"] and len(targets) != 1:
            raise CommandError("--name goes with exactly one URL or file.")
        self.interval = interval(options["interval"])
        failed = 0
        for target in targets:
            try:
                source, prefetched = self.register(target, options["kind"], options["name"])
            except (IngestError, CommandError) as exc:
                self.stdout.write(self.style.ERROR(f"{target}: not registered: {exc}"))
                failed += 1
                continue
            failed += not self.ingest(source, prefetched)
        if options["due"]:
            due = Source.objects.filter(scheduling.due_sources(timezone.now()))
            for source_id in due.values_list("pk", flat=True):
                failed += not self.ingest(Source.objects.get(pk=source_id), None)
        if failed:
            raise CommandError(f"{failed} source(s) failed.")

    def register(
        self, target: str, kind_option: str | None, name: str | None
    ) -> tuple[Source, FetchResult | IngestError | None]:
        path = Path(target)
        if kind_option == "text" or (kind_option is None and path.is_file()):
            return self.register_file(path, name), None
        existing = Source.objects.filter(url=target).first()
        if existing:
            return existing, None
        if not urlsplit(target).scheme:
            raise CommandError("no such file, and not a URL")
        # What the fetcher would refuse outright (file://, gopher://, credentials, loopback
        # or private addresses) would fail on every fetch: refused before anything is stored.
        refused = refusal(target)
        if refused is not None:
            raise refused
        prefetched: FetchResult | IngestError | None = None
        kind = KINDS.get(kind_option or "")
        if kind is None:
            try:
                prefetched = fetch(target, accept=pipeline.FEED_ACCEPT)
                kind = guess_kind(prefetched)
            except IngestError as exc:
                # Still register it, so the failure is on record where admins look.
                prefetched, kind = exc, kind_from_url(target)
        source = Source(name=name or unique_name(target), kind=kind, url=target)
        if self.interval is not None:
            source.interval = self.interval
        try:
            source.full_clean()
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        source.save()
        self.stdout.write(f"registered {source.get_kind_display().lower()} source {source.name!r}")
        return source, prefetched

    def register_file(self, path: Path, name: str | None) -> Source:
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text") from exc
        source, created = Source.objects.get_or_create(
            name=name or path.name,
            defaults={
                "kind": Source.Kind.MANUAL,
                "manual_text": text,
                "manual_filename": path.name,
            },
        )
        if source.kind != Source.Kind.MANUAL:
            raise CommandError(f"a {source.get_kind_display()} source is already named {path.name}")
        if not created and source.manual_text != text:
            source.manual_text = text
            source.save(update_fields=["manual_text"])
        return source

    def ingest(self, source: Source, prefetched: FetchResult | IngestError | None) -> bool:
        """Ingest one source now; False when it failed."""
        claimed = pipeline.claim(source.pk)
        if claimed is None:
            self.stdout.write(f"{source.name}: skipped, a worker is fetching it right now")
            return True
        if isinstance(prefetched, IngestError):
            run = pipeline.record_failure(claimed, prefetched)
        else:
            run = pipeline.ingest(
                claimed,
                prefetched=prefetched,
                progress=progress,
                on_stored=scheduling.enqueue_extraction,
            ).run
        line = (
            f"{source.name}: {run.get_outcome_display().lower()} — {run.documents_new} new, "
            f"{run.documents_updated} updated, {run.documents_duplicate} duplicate"
        )
        if run.documents_failed:
            line += f", {run.documents_failed} not stored"
        if run.outcome == IngestRun.Outcome.FAILED:
            self.stdout.write(self.style.ERROR(f"{line} — {run.error}"))
            return False
        self.stdout.write(self.style.SUCCESS(line))
        return True


def interval(value: str | None) -> timedelta | None:
    """The --interval option, refused before anything is registered when out of bounds."""
    if value is None:
        return None
    try:
        parsed = parse_duration(value.strip())
    except OverflowError as exc:  # more days than a timedelta holds
        raise CommandError(f"--interval: {INTERVAL_RULE}.") from exc
    if parsed is None:
        raise CommandError(
            f"--interval {value[:40]!r} is not a duration: write HH:MM:SS, "
            "'DAYS HH:MM:SS' or ISO 8601 such as PT6H."
        )
    try:
        validate_interval(parsed)
    except ValidationError as exc:
        raise CommandError(f"--interval: {' '.join(exc.messages)}") from exc
    return parsed


def guess_kind(result: FetchResult) -> str:
    """A feed if it parses as one, otherwise a web page."""
    try:
        parse_feed(result.content, url=result.url, content_type=result.content_type)
    except IngestError as exc:
        if exc.reason in (FailureReason.NOT_A_FEED, FailureReason.PARSE_ERROR):
            return Source.Kind.PAGE
        raise
    return Source.Kind.FEED


def kind_from_url(url: str) -> str:
    """A guess from the address alone, for a URL that could not be fetched."""
    path = urlsplit(url).path.lower()
    feedish = path.endswith((".xml", ".rss", ".atom", ".rdf")) or "feed" in path or "rss" in path
    return Source.Kind.FEED if feedish else Source.Kind.PAGE


def unique_name(url: str) -> str:
    parts = urlsplit(url)
    base = (parts.netloc + parts.path).rstrip("/")[:190] or url[:190]
    name, n = base, 2
    while Source.objects.filter(name=name).exists():
        name, n = f"{base} ({n})", n + 1
    return name
