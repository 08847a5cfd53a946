"""One ingestion attempt, in-process: fetch from a local server, parse, store, record.

The job-system tests (test_jobs.py) run the same code in a real Celery worker;
these cover the many outcomes quickly.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from governance.ingest import pipeline
from governance.ingest.errors import FailureReason
from governance.ingest.store import StoreResult, store_document
from governance.models import Document, IngestRun, Source
from tests.ingest.feeds import PARAGRAPHS, article, rss
from tests.ingest.payload_server import PayloadServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


def feed_source(server: PayloadServer, path: str = "/feed.xml", **fields: object) -> Source:
    return Source.objects.create(
        name=f"feed {path}", kind=Source.Kind.FEED, url=server.url(path), **fields
    )


def run(source: Source, **kwargs: object) -> IngestRun:
    claimed = pipeline.claim(source.pk)
    assert claimed is not None
    return pipeline.ingest(claimed, **kwargs).run


def items(server: PayloadServer, n: int = 3) -> list[dict[str, str]]:
    return [
        {
            "title": f"Story {i}",
            "link": server.url(f"/news/story-{i}.html"),
            "content": f"<p>{PARAGRAPHS[i % 3]}</p><p>Story number {i}.</p>",
        }
        for i in range(n)
    ]


def test_new_entries_land_once_then_duplicate(payload_server: PayloadServer) -> None:
    payload_server.add("/feed.xml", body=rss(items(payload_server)))
    source = feed_source(payload_server)
    first = run(source)
    assert (first.outcome, first.documents_new) == ("new", 3)
    assert Document.objects.filter(source=source).count() == 3
    second = run(Source.objects.get(pk=source.pk))
    assert (second.outcome, second.documents_new, second.documents_duplicate) == (
        "duplicate",
        0,
        3,
    )
    assert Document.objects.count() == 3


def test_etag_gives_not_modified(payload_server: PayloadServer) -> None:
    route = payload_server.add("/feed.xml", body=rss(items(payload_server)), etag='"v1"')
    source = feed_source(payload_server)
    run(source)
    second = run(Source.objects.get(pk=source.pk))
    assert second.outcome == "not_modified" and second.http_status == 304
    assert route.request_headers[-1].get("If-None-Match") == '"v1"'
    assert Document.objects.count() == 3


def test_changed_entry_updates_in_place(payload_server: PayloadServer) -> None:
    entries = items(payload_server)
    payload_server.add("/feed.xml", body=rss(entries))
    source = feed_source(payload_server)
    run(source)
    doc = Document.objects.get(url=entries[0]["link"])
    old_hash = doc.content_sha256
    entries[0]["content"] = "<p>Correction: the conference drew over 800 companies.</p>"
    payload_server.add("/feed.xml", body=rss(entries))
    second = run(Source.objects.get(pk=source.pk))
    assert (second.outcome, second.documents_updated, second.documents_duplicate) == (
        "updated",
        1,
        2,
    )
    doc.refresh_from_db()
    assert "Correction" in doc.text
    assert second.details["updated"] == [{"document": doc.pk, "previous_sha256": old_hash}]
    assert Document.objects.count() == 3


def test_same_article_from_two_feeds_is_one_document(payload_server: PayloadServer) -> None:
    shared = items(payload_server, 1)[0]
    payload_server.add("/a.xml", body=rss([shared], title="Wire A"))
    payload_server.add("/b.xml", body=rss([shared], title="Wire B"))
    a = run(feed_source(payload_server, "/a.xml"))
    b = run(feed_source(payload_server, "/b.xml"))
    assert (a.documents_new, b.documents_new, b.documents_duplicate) == (1, 0, 1)
    assert Document.objects.count() == 1


def test_summary_only_entry_fetches_its_page(payload_server: PayloadServer) -> None:
    link = payload_server.url("/articles/ai-body.html")
    payload_server.add(
        "/feed.xml",
        body=rss([{"title": "China proposes AI body", "link": link, "summary": "China proposed…"}]),
    )
    page = payload_server.add(
        "/articles/ai-body.html",
        body=article("China proposes AI body", PARAGRAPHS),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    source = feed_source(payload_server)
    first = run(source)
    assert first.documents_new == 1 and page.hits == 1
    document = Document.objects.get()
    assert "Premier Li Qiang called for a unified international approach" in document.text
    assert "All rights reserved" not in document.text  # page boilerplate left out
    # Known pages are not fetched again on the next poll.
    run(Source.objects.get(pk=source.pk))
    assert page.hits == 1


def test_summary_kept_when_the_page_fails(payload_server: PayloadServer) -> None:
    link = payload_server.url("/articles/missing.html")
    payload_server.add(
        "/feed.xml",
        body=rss([{"title": "Story", "link": link, "summary": "China proposed an AI body."}]),
    )
    result = run(feed_source(payload_server))
    assert result.outcome == "new"
    assert "404" in result.warnings
    assert Document.objects.get().text.startswith("China proposed an AI body")


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ({"status": 500, "body": b"oops"}, FailureReason.HTTP_ERROR),
        ({"status": 404, "body": b"gone"}, FailureReason.HTTP_ERROR),
        ({"body": b"<rss><channel><item><title>broken"}, FailureReason.PARSE_ERROR),
        ({"body": b"<html><body><p>Just a page</p></body></html>"}, FailureReason.NOT_A_FEED),
    ],
)
def test_failures_are_recorded_with_their_reason(
    payload_server: PayloadServer, route: dict, reason: FailureReason
) -> None:
    payload_server.add("/feed.xml", **route)
    source = feed_source(payload_server)
    result = run(source)
    assert (result.outcome, result.failure_reason) == ("failed", reason)
    assert result.error and result.finished_at
    source.refresh_from_db()
    assert source.consecutive_failures == 1 and source.last_error
    assert source.lease_expires_at is None
    assert source.next_fetch_at > timezone.now() + dt.timedelta(minutes=50)  # backed off


def test_backoff_grows_with_failures_and_success_clears_it(payload_server: PayloadServer) -> None:
    payload_server.add("/feed.xml", status=500)
    source = feed_source(payload_server, interval=dt.timedelta(hours=1))
    for failures in (1, 2, 3):
        run(Source.objects.get(pk=source.pk))
        source.refresh_from_db()
        assert source.consecutive_failures == failures
        delay = source.next_fetch_at - timezone.now()
        assert dt.timedelta(hours=failures * 0.85) < delay < dt.timedelta(hours=failures * 1.15)
    source.consecutive_failures = 500
    source.save()
    run(Source.objects.get(pk=source.pk))
    source.refresh_from_db()
    assert source.next_fetch_at - timezone.now() <= dt.timedelta(days=7)
    payload_server.add("/feed.xml", body=rss(items(payload_server, 1)))
    run(Source.objects.get(pk=source.pk))
    source.refresh_from_db()
    assert (source.consecutive_failures, source.last_error) == (0, "")
    assert source.last_success_at is not None


def test_transient_failure_asks_for_a_retry_without_backing_off(
    payload_server: PayloadServer,
) -> None:
    payload_server.add("/feed.xml", status=503)
    source = feed_source(payload_server)
    claimed = pipeline.claim(source.pk)
    attempt = pipeline.ingest(claimed, allow_retry=True)
    assert attempt.retry and attempt.run.failure_reason == FailureReason.HTTP_ERROR
    source.refresh_from_db()
    assert source.consecutive_failures == 0 and source.lease_expires_at is None


def test_claim_is_exclusive_and_expires(payload_server: PayloadServer) -> None:
    source = feed_source(payload_server)
    now = timezone.now()
    assert pipeline.claim(source.pk, now=now) is not None
    assert pipeline.claim(source.pk, now=now) is None
    later = now + dt.timedelta(seconds=10_000)
    IngestRun.objects.create(source=source)  # left "running" by a dead worker
    assert pipeline.claim(source.pk, now=later) is not None
    lost = IngestRun.objects.get(source=source)
    assert (lost.outcome, lost.failure_reason) == ("failed", FailureReason.WORKER_LOST)


def test_a_retry_after_a_database_outage_resumes_its_own_claim(
    payload_server: PayloadServer,
) -> None:
    source = feed_source(payload_server)
    now = timezone.now()
    held = pipeline.claim(source.pk, now=now, due_only=True)
    assert held is not None and held.lease_expires_at is not None
    IngestRun.objects.create(source=source)  # the attempt PostgreSQL went away under
    # Someone else's lease, or a guess, is no key; the attempt's own lease is.
    assert pipeline.claim(source.pk, now=now, resume=now) is None
    assert pipeline.claim(source.pk, now=now) is None
    later = now + dt.timedelta(seconds=1)
    resumed = pipeline.claim(source.pk, now=later, due_only=True, resume=held.lease_expires_at)
    assert resumed is not None and resumed.lease_expires_at != held.lease_expires_at
    cut = IngestRun.objects.get(source=source)
    assert (cut.outcome, cut.failure_reason) == ("failed", FailureReason.DATABASE_UNAVAILABLE)
    # Once resumed, the old lease opens nothing.
    assert pipeline.claim(source.pk, now=later, resume=held.lease_expires_at) is None


@pytest.mark.django_db(transaction=True)
def test_a_lost_database_connection_is_raised_not_counted_as_a_failed_document() -> None:
    from django.db import InterfaceError, OperationalError, connection

    from governance.ingest.parse import ParsedDocument
    from tests.ingest.worker import terminate_own_connection

    source = Source.objects.create(name="Wire", kind="feed", url="http://wire.test/feed")
    terminate_own_connection()
    document = ParsedDocument(url="http://wire.test/1", title="One", text=PARAGRAPHS[0])
    result = StoreResult()
    try:
        with pytest.raises((OperationalError, InterfaceError)):
            store_document(document, source, result)
        assert result.failed == 0
    finally:
        connection.close()  # the next test reconnects


def test_manual_text_is_ingested_once(db: None) -> None:
    source = Source.objects.create(
        name="Pasted statement",
        kind=Source.Kind.MANUAL,
        manual_text="Li Qiang said AI should be a common good for all of humanity.",
    )
    result = run(source)
    assert (result.outcome, result.documents_new) == ("new", 1)
    source.refresh_from_db()
    assert source.next_fetch_at is None
    assert Document.objects.get().title == "Pasted statement"


def test_extraction_is_handed_new_and_changed_documents(payload_server: PayloadServer) -> None:
    entries = items(payload_server, 2)
    payload_server.add("/feed.xml", body=rss(entries))
    handed: list[list[int]] = []
    source = feed_source(payload_server)
    run(source, on_stored=handed.append)
    assert sorted(handed[0]) == sorted(Document.objects.values_list("pk", flat=True))
    run(Source.objects.get(pk=source.pk), on_stored=handed.append)
    assert len(handed) == 1  # nothing new, nothing handed


class Killed(BaseException):
    """A SIGKILL as the database sees it: the connection goes, nothing more is written."""


@pytest.mark.parametrize("where", ["mid-store", "rescheduling", "handing to extraction"])
def test_a_worker_killed_while_storing_leaves_the_documents_to_the_next_fetch(
    payload_server: PayloadServer, monkeypatch: pytest.MonkeyPatch, settings: object, where: str
) -> None:
    payload_server.add("/feed.xml", body=rss(items(payload_server, 2)))
    source = feed_source(payload_server)

    def store_one_then_die(parsed: list, src: Source) -> None:
        store_document(parsed[0], src, StoreResult())
        raise Killed

    def die(*args: object, **kwargs: object) -> None:
        raise Killed

    with monkeypatch.context() as patched:
        if where == "mid-store":
            patched.setattr(pipeline, "store_documents", store_one_then_die)
        elif where == "rescheduling":
            patched.setattr(pipeline, "_succeeded", die)
        with pytest.raises(Killed):
            run(source, on_stored=die)
    # Nothing of the attempt stayed but its "running" run and the source's claim...
    assert Document.objects.count() == 0
    source.refresh_from_db()
    assert source.lease_expires_at > timezone.now() and source.next_fetch_at <= timezone.now()
    assert source.runs.get().outcome == IngestRun.Outcome.RUNNING
    # ...so the fetch after the lease lapses stores both and hands both to extraction.
    later = timezone.now() + dt.timedelta(seconds=settings.INGEST_LEASE_SECONDS + 1)
    handed: list[list[int]] = []
    refetch = pipeline.ingest(pipeline.claim(source.pk, now=later), on_stored=handed.extend)
    assert (refetch.run.outcome, refetch.run.documents_new) == ("new", 2)
    assert sorted(handed) == sorted(Document.objects.values_list("pk", flat=True))
    lost = source.runs.get(failure_reason=FailureReason.WORKER_LOST)
    assert lost.outcome == IngestRun.Outcome.FAILED


def test_unexpected_error_is_recorded_not_raised(
    payload_server: PayloadServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload_server.add("/feed.xml", body=rss(items(payload_server, 1)))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(pipeline, "store_documents", broken)
    result = run(feed_source(payload_server))
    assert (result.outcome, result.failure_reason) == ("failed", FailureReason.INTERNAL_ERROR)
    assert "a bug" in result.error


def test_recorded_news_feeds_about_the_seed_event(payload_server: PayloadServer) -> None:
    """The realistic payloads: an RSS and an Atom feed sharing one article, and a teaser
    whose article page is fetched (its boilerplate dropped)."""
    payload_server.add_file("/feeds/waic-news.rss", "waic-news.rss", "application/rss+xml")
    payload_server.add_file("/feeds/waic-news.atom", "waic-news.atom", "application/atom+xml")
    page = payload_server.add_file(
        "/articles/waic-2025-china-proposes-ai-body.html",
        "waic-2025-china-proposes-ai-body.html",
        "text/html; charset=utf-8",
    )
    rss_run = run(feed_source(payload_server, "/feeds/waic-news.rss"))
    atom_run = run(feed_source(payload_server, "/feeds/waic-news.atom"))
    assert rss_run.outcome == "new" and rss_run.documents_new >= 3
    assert page.hits == 1
    # The action-plan article is in both feeds (utm parameters and #top aside): stored once.
    assert atom_run.documents_duplicate >= 1
    action_plan = Document.objects.filter(url__endswith="/articles/waic-2025-action-plan.html")
    assert action_plan.count() == 1
    article_doc = Document.objects.get(
        url=payload_server.url("/articles/waic-2025-china-proposes-ai-body.html")
    )
    assert "AI should be a common good for all of humanity" in article_doc.text
    assert article_doc.language == "en"
    assert article_doc.published_at is not None
    # Teasers whose pages are missing keep their summaries, with a warning on the run.
    assert "404" in rss_run.warnings


def test_two_feeds_rendering_one_article_differently_do_not_flip_it(
    payload_server: PayloadServer,
) -> None:
    link = payload_server.url("/news/one.html")
    short = {"title": "One", "link": link, "content": "<p>China proposed an AI body.</p>"}
    full = {"title": "One", "link": link, "content": "".join(f"<p>{p}</p>" for p in PARAGRAPHS)}
    payload_server.add("/a.xml", body=rss([short]))
    payload_server.add("/b.xml", body=rss([full]))
    a, b = feed_source(payload_server, "/a.xml"), feed_source(payload_server, "/b.xml")
    assert run(a).documents_new == 1
    assert run(b).documents_updated == 1  # the fuller text wins
    again = run(Source.objects.get(pk=a.pk))
    assert (again.documents_updated, again.documents_duplicate) == (0, 1)
    document = Document.objects.get()
    assert "unified international approach" in document.text
    assert document.source == b  # the source whose text is stored
    # That source's own correction still updates it, even when shorter.
    payload_server.add("/b.xml", body=rss([{**full, "content": "<p>Corrected: AI body.</p>"}]))
    assert run(Source.objects.get(pk=b.pk)).documents_updated == 1
