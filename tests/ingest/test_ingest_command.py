"""`manage.py ingest`: register and ingest now, one line per source, non-zero on failure."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from governance.models import Document, Source
from tests.ingest.feeds import PARAGRAPHS, article, rss
from tests.ingest.payload_server import PayloadServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_loopback")]


def ingest(*args: str) -> str:
    out = StringIO()
    call_command("ingest", *args, stdout=out)
    return out.getvalue()


def test_guesses_feed_and_page_and_registers_once(payload_server: PayloadServer) -> None:
    payload_server.add(
        "/feed.xml",
        body=rss([{"title": "A", "link": "http://wire.test/a", "content": PARAGRAPHS[0]}]),
    )
    payload_server.add(
        "/page.html", body=article("B", PARAGRAPHS), headers={"Content-Type": "text/html"}
    )
    output = ingest(payload_server.url("/feed.xml"), payload_server.url("/page.html"))
    assert "registered rss/atom feed source" in output
    assert "registered web page source" in output
    assert output.count("1 new") == 2
    assert Source.objects.get(url=payload_server.url("/feed.xml")).kind == "feed"
    assert Source.objects.get(url=payload_server.url("/page.html")).kind == "page"
    again = ingest(payload_server.url("/feed.xml"))
    assert "registered" not in again and "1 duplicate" in again
    assert Source.objects.count() == 2 and Document.objects.count() == 2


def test_local_file_becomes_a_manual_source(tmp_path: Path) -> None:
    path = tmp_path / "statement.txt"
    path.write_text("Li Qiang said AI should be a common good for all of humanity.\n")
    output = ingest(str(path), "--name", "Pasted statement")
    assert "Pasted statement: new documents — 1 new" in output
    assert Source.objects.get().kind == "manual"


def test_failure_exits_non_zero_and_says_why(payload_server: PayloadServer) -> None:
    payload_server.add("/feed.xml", body=rss([]))
    Source.objects.create(name="broken", kind="feed", url=payload_server.url("/gone.xml"))
    with pytest.raises(CommandError, match="1 source"):
        ingest(payload_server.url("/gone.xml"))
    out = StringIO()
    with pytest.raises(CommandError, match="1 source"):
        call_command("ingest", "no-such-file.txt", stdout=out)
    assert "no-such-file.txt: not registered: no such file, and not a URL" in out.getvalue()
    with pytest.raises(CommandError, match="URLs or files"):
        ingest()


def test_due_ingests_every_due_source(payload_server: PayloadServer) -> None:
    for i in range(2):
        payload_server.add(
            f"/f{i}.xml",
            body=rss([{"title": "A", "link": f"http://wire.test/{i}", "content": PARAGRAPHS[i]}]),
        )
        Source.objects.create(name=f"f{i}", kind="feed", url=payload_server.url(f"/f{i}.xml"))
    Source.objects.create(
        name="disabled", kind="feed", url=payload_server.url("/x.xml"), enabled=False
    )
    output = ingest("--due")
    assert output.count("1 new") == 2 and "disabled" not in output


def test_unreachable_new_url_is_registered_with_its_failure(payload_server: PayloadServer) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="1 source"):
        call_command("ingest", payload_server.url("/feeds/missing.rss"), stdout=out)
    source = Source.objects.get()
    assert source.kind == "feed" and source.consecutive_failures == 1
    run = source.runs.get()
    assert (run.outcome, run.failure_reason, run.http_status) == ("failed", "http_error", 404)
    assert "404" in out.getvalue()
