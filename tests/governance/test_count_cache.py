"""Cached counts (governance/count_cache.py): served from Redis while nothing changed,
recomputed as soon as curated data changes; facets of big sets count a bounded scope."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from governance import count_cache, search
from governance.merge import merge
from governance.models import Country, Statement
from tests.factories import PersonFactory, StatementFactory

pytestmark = pytest.mark.django_db


def _facet_count(html: str, facet: str, value: str) -> int:
    match = re.search(
        rf'id="facet-{facet}-{value}"[^>]*>\s*<span class="facet-label">[^<]*</span>\s*'
        r'<span class="count">([\d,]+)</span>',
        html,
    )
    assert match, f"no {facet}={value} in the facets"
    return int(match.group(1).replace(",", ""))


def _queries(client: Client, url: str) -> int:
    client.cookies["sessionid"] = "none"  # past the page cache, to the counts
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_counts_are_cached_until_a_statement_changes(client: Client) -> None:
    StatementFactory.create_batch(3, on_behalf_of_country=Country.objects.get(code="FR"))
    first = client.get("/statements/").content.decode()
    assert _facet_count(first, "country", "fr") == 3
    cold, warm = _queries(client, "/statements/?kind=direct_quote"), None
    warm = _queries(client, "/statements/?kind=direct_quote")
    assert warm == cold - 2  # the facets and the total came from the cache
    del client.cookies["sessionid"]

    StatementFactory(on_behalf_of_country=Country.objects.get(code="FR"))
    assert _facet_count(client.get("/statements/").content.decode(), "country", "fr") == 4
    assert "4 statements" in client.get("/statements/?country=fr").content.decode()

    Statement.objects.filter(on_behalf_of_country="FR").first().delete()
    assert _facet_count(client.get("/statements/").content.decode(), "country", "fr") == 3


def test_a_renamed_speaker_shows_at_once(client: Client) -> None:
    person = PersonFactory(name="Ada Example")
    StatementFactory(speaker=person)
    assert "Ada Example" in client.get("/statements/").content.decode()
    person.name = "Ada Renamed"
    person.save()
    page = client.get("/statements/").content.decode()
    assert "Ada Renamed" in page and "Ada Example" not in page


def test_a_merge_moves_the_counts(client: Client, admin_user: object) -> None:
    keep, lose = PersonFactory(name="Keep Me"), PersonFactory(name="Lose Me")
    StatementFactory.create_batch(2, speaker=keep)
    StatementFactory.create_batch(3, speaker=lose)
    page = client.get("/statements/").content.decode()
    assert _facet_count(page, "speaker", keep.slug) == 2
    merge(keep, lose, user=admin_user)
    assert _facet_count(client.get("/statements/").content.decode(), "speaker", keep.slug) == 5


def test_the_dashboard_figures_follow_new_statements(client: Client) -> None:
    StatementFactory.create_batch(2)
    before = client.get("/").context["counts"]["statements"]
    StatementFactory()
    assert client.get("/").context["counts"]["statements"] == before + 1


def test_the_revision_moves_again_when_the_transaction_commits(
    django_capture_on_commit_callbacks: object,
) -> None:
    seen = []
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        count_cache.bump()
        seen.append(count_cache.revision())
    seen.append(count_cache.revision())
    assert seen[0] != seen[1]


@pytest.mark.django_db(transaction=True)
def test_a_bump_in_autocommit_moves_the_revision_once(monkeypatch: pytest.MonkeyPatch) -> None:
    moved: list[str] = []
    real = count_cache._new_revision
    monkeypatch.setattr(count_cache, "_new_revision", lambda kind: (moved.append(kind), real(kind)))
    count_cache.bump(count_cache.INGESTED)
    assert moved == [count_cache.INGESTED]  # Django runs on_commit at once here: was twice
    with transaction.atomic():
        count_cache.bump(count_cache.INGESTED)
        assert len(moved) == 2
    assert len(moved) == 3  # and again on the commit


def test_bumps_deferred_move_each_revision_once_on_leaving(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    moved: list[str] = []
    real = count_cache._new_revision
    monkeypatch.setattr(count_cache, "_new_revision", lambda kind: (moved.append(kind), real(kind)))

    def revisions() -> tuple[str, str]:
        return count_cache.revision(count_cache.CURATED), count_cache.revision(count_cache.INGESTED)

    before = revisions()
    with pytest.raises(RuntimeError), count_cache.bumps_deferred():
        for kind in (count_cache.CURATED, count_cache.INGESTED, count_cache.CURATED):
            count_cache.bump(kind)
        inside = revisions()
        raise RuntimeError("a job that fails after its writes still tells the caches")
    after = revisions()
    assert inside == before and after[0] != before[0] and after[1] != before[1]
    assert sorted(moved) == [count_cache.CURATED, count_cache.INGESTED]  # the commit's wait
    count_cache.bump()  # outside: at once again
    assert moved[-1] == count_cache.CURATED


def test_a_big_set_counts_its_latest_statements_and_says_so(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "FACET_SCAN", 4)
    fr, de = Country.objects.get(code="FR"), Country.objects.get(code="DE")
    StatementFactory.create_batch(5, on_behalf_of_country=de)  # older ids
    StatementFactory.create_batch(3, on_behalf_of_country=fr)
    page = client.get("/statements/").content.decode()
    # The latest 4 added: 3 French, 1 German.
    assert _facet_count(page, "country", "fr") == 3
    assert _facet_count(page, "country", "de") == 1
    assert page.count("Counts among the latest 4 matches") == 6  # every facet was cut

    narrow = client.get("/statements/?country=fr").content.decode()
    # Each facet counts under the *other* filters: the country facet still sees all 8
    # (cut), the kind facet only the 3 French ones (whole, so exact and unmarked).
    assert narrow.count("Counts among the latest 4 matches") == 1
    assert _facet_count(narrow, "kind", "direct_quote") == 3
