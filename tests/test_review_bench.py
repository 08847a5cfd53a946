"""bench/perf/review.py on a tiny database: prepare() extracts a real article into pending
candidates, measure() logs in through the login form of the live server and accepts.

It commits (transaction=True, for the live server's threads to see the data), so it
lives outside tests/governance/ like the other committing tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from pytest_django.live_server_helper import LiveServer

from bench.perf import review as bench_review
from governance.models import Candidate, Decision, Document, ExtractionStatus
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

ARTICLE = Path(__file__).resolve().parent.parent / "governance/fixtures/seed/waic-2025-article.txt"


def _database_url() -> str:
    config = connection.settings_dict
    return (
        f"postgres://{config['USER']}@{config['HOST'] or 'localhost'}:{config['PORT'] or 5432}"
        f"/{config['NAME']}"
    )


def _article() -> str:
    """The first paragraphs of the WAIC article: a country, the premier, his quote."""
    return "\n".join(ARTICLE.read_text(encoding="utf-8").splitlines()[:4])


def test_prepare_then_measure(live_server: LiveServer) -> None:
    document = factories.DocumentFactory(
        text=_article(), extraction_status=ExtractionStatus.PENDING
    )

    curator = bench_review.prepare(_database_url(), candidates=3)

    assert curator.username == "bench-curator"
    assert curator.documents_extracted == 1
    assert curator.candidates_created >= 3
    assert curator.pending == curator.candidates_created
    assert curator.extraction_seconds > 0
    assert curator.extraction_failures == 0
    assert Document.objects.get(pk=document.pk).extraction_status == ExtractionStatus.DONE
    assert set(Candidate.objects.filter(document=document).values_list("status", flat=True)) == {
        Candidate.Status.PENDING
    }
    assert "password" not in repr(curator)

    # A second prepare extracts nothing more and gives the account a new password.
    again = bench_review.prepare(_database_url(), candidates=3)
    assert again.documents_extracted == 0
    assert again.pending == curator.pending
    assert again.password != curator.password

    result = bench_review.measure(live_server.url, again, accepts=2, renders=3, rejects=1)

    assert result.failures == []
    assert result.renders.count == 3
    assert 0 < result.renders.median <= result.renders.p95 <= result.renders.max
    assert result.render_bytes > len(_article())  # the document's text is on the page
    assert result.accepts.count == 2
    assert 0 < result.accepts.median <= result.accepts.p95
    assert result.rejects.count == 1
    assert result.accepted_verified == 2
    assert result.decisions_created == 3  # a refusal writes no Decision
    assert Decision.objects.filter(action=Decision.Action.ACCEPT).count() == 2
    accepted = Candidate.objects.filter(pk__in=result.accepted_ids)
    assert {c.status for c in accepted} == {Candidate.Status.ACCEPTED}
    assert result.ok
    assert "| accept (htmx POST) | 2 |" in result.describe()


def test_prepare_refuses_another_database() -> None:
    with pytest.raises(RuntimeError, match="not"):
        bench_review.prepare("postgres://postgres@127.0.0.1:5432/waic_rev_elsewhere")
