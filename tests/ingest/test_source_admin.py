"""Admins register sources with clear validation, see their health and fetch them now."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.forms import SourceForm
from governance.models import IngestRun, Source

pytestmark = pytest.mark.django_db


def form(**data: object) -> SourceForm:
    base = {"name": "A source", "kind": "feed", "enabled": True, "interval": "01:00:00"}
    files = {"upload": data.pop("upload")} if "upload" in data else {}
    return SourceForm(data={**base, **data}, files=files)


def test_feed_needs_an_http_url() -> None:
    assert "url" in form().errors
    assert "Only http://" in form(url="file:///etc/passwd").errors["url"][0]
    assert form(url="https://news.example.org/feed.xml").is_valid()


def test_manual_source_takes_text_or_a_utf8_upload() -> None:
    assert "manual_text" in form(kind="manual").errors
    upload = SimpleUploadedFile("note.md", b"# Summit\nChina proposed an AI body.")
    f = form(kind="manual", upload=upload)
    assert f.is_valid(), f.errors
    source = f.save()
    assert source.manual_text.startswith("# Summit") and source.manual_filename == "note.md"
    assert source.next_fetch_at <= timezone.now()
    binary = SimpleUploadedFile("x.txt", b"\xff\xfe\x00\x01junk")
    assert "not UTF-8" in form(kind="manual", upload=binary).errors["upload"][0]
    pdf = SimpleUploadedFile("x.pdf", b"%PDF-1.4")
    assert ".txt, .md or .html" in form(kind="manual", upload=pdf).errors["upload"][0]


def test_changelist_shows_health_and_fetch_now_queues(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok = Source.objects.create(
        name="Wire", kind="feed", url="https://a.example/feed", last_success_at=timezone.now()
    )
    failing = Source.objects.create(
        name="Broken wire", kind="feed", url="https://b.example/feed", consecutive_failures=2
    )
    IngestRun.objects.create(
        source=failing, outcome="failed", failure_reason="timeout", error="Timed out after 30 s"
    )
    html = admin_client.get(reverse("admin:governance_source_changelist")).content.decode()
    assert "failing (2 in a row)" in html and "Failed: Timed out" in html and ">ok<" in html
    detail = admin_client.get(reverse("admin:governance_source_change", args=[failing.pk]))
    assert "Timed out after 30 s" in detail.content.decode()

    sent: list[int] = []
    monkeypatch.setattr(
        "governance.tasks.ingest_source.delay", lambda *, source_id: sent.append(source_id)
    )
    later = timezone.now() + dt.timedelta(hours=5)
    Source.objects.update(next_fetch_at=later)
    response = admin_client.post(
        reverse("admin:governance_source_changelist"),
        {"action": "fetch_now", "_selected_action": [ok.pk]},
        follow=True,
    )
    assert "1 source(s) queued" in response.content.decode()
    assert sent == [ok.pk]
    ok.refresh_from_db()
    assert ok.next_fetch_at <= timezone.now()


def test_fetch_now_with_the_queue_unreachable_says_so_and_leaves_the_source_due(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kombu.exceptions

    source = Source.objects.create(
        name="Wire",
        kind="feed",
        url="https://a.example/feed",
        next_fetch_at=timezone.now() + dt.timedelta(hours=5),
    )

    def unreachable(**kwargs: int) -> None:
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379.")

    monkeypatch.setattr("governance.tasks.ingest_source.delay", unreachable)
    response = admin_client.post(
        reverse("admin:governance_source_changelist"),
        {"action": "fetch_now", "_selected_action": [source.pk]},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "marked due, but the job queue (Redis) is unreachable" in page
    source.refresh_from_db()
    # Due, and not marked as sent: the next beat tick enqueues it.
    assert source.next_fetch_at <= timezone.now() and source.enqueued_at is None


def test_runs_are_read_only_in_the_admin(admin_client: Client) -> None:
    source = Source.objects.create(name="Wire", kind="feed", url="https://a.example/feed")
    run = IngestRun.objects.create(source=source, outcome="new", documents_new=3)
    assert admin_client.get(reverse("admin:governance_ingestrun_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:governance_ingestrun_change", args=[run.pk]), {"outcome": "failed"}
    )
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.outcome == "new"
