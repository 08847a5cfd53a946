"""PostgreSQL hung (SIGSTOP) and killed under a real gunicorn (issue #25, "a 503 in time"):
every answer a 503 within 3 s however many requests arrive together, none a 500, pages
back within seconds. A throwaway PostgreSQL on a free port, migrated, behind gunicorn as
`manage.py up` runs it (2 workers x 2 threads, persistent connections); the harness is
bench/database_outage.py's, which measures the same at more rounds."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from bench.database_outage import LIMIT, Answer, Load, OutageSite, bad, describe

pytestmark = pytest.mark.launcher


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutageSite]:
    outage = OutageSite(tmp_path_factory.mktemp("outage"), redis_url=settings.REDIS_URL, seed=False)
    try:
        outage.start()
        yield outage
    finally:
        outage.stop()


def assert_unavailable(answers: list[Answer]) -> None:
    wrong = bad(answers)
    assert not wrong, [describe(a) for a in wrong]
    assert Counter(a.status for a in answers) == {503: len(answers)}
    for answer in answers:
        if answer.path.startswith("/api/"):
            assert "database is unavailable" in answer.body
        else:
            assert "database is not answering" in answer.body
        if "?country=" in answer.path:  # the htmx fragment: the notice alone
            assert "<html" not in answer.body


def stopped_then_back(site: OutageSite, requests: int) -> list[Answer]:
    site.warm()  # every web thread holds an open connection
    site.signal_postgres(signal.SIGSTOP)
    try:
        answers = [site.get("/statements/", {})] if requests == 1 else site.burst(requests)
    finally:
        site.signal_postgres(signal.SIGCONT)
    back = site.until_served(timeout=10)
    print(
        f"hung, {requests} at once: slowest 503 {max(a.seconds for a in answers):.2f}s; "
        f"served {back:.2f}s after SIGCONT"
    )
    assert back < 3, back
    return answers


def test_a_request_on_an_open_connection_to_a_hung_server_gets_503(site: OutageSite) -> None:
    answers = stopped_then_back(site, 1)
    assert_unavailable(answers)


@pytest.mark.parametrize("concurrency", [10, 50])
def test_concurrent_requests_to_a_hung_server_all_get_503_within_3s(
    site: OutageSite, concurrency: int
) -> None:
    answers = stopped_then_back(site, concurrency)
    assert_unavailable(answers)
    assert max(a.seconds for a in answers) < LIMIT


def test_a_killed_server_gives_no_500_and_pages_return_after_its_restart(
    site: OutageSite, tmp_path: Path
) -> None:
    site.warm(1)
    with Load(site, 10) as load:
        time.sleep(1.0)
        site.kill_postgres()
        time.sleep(3.0)
        site.pg.start()
        back = site.until_served(timeout=10)
        time.sleep(0.5)
    answers = load.answers
    statuses = Counter(a.status for a in answers)
    print(f"killed: {dict(statuses)}; served {back:.2f}s after the restart")
    wrong = bad(answers)
    assert not wrong, [describe(a) for a in wrong[:5]]
    assert statuses[503] > 10 and statuses[200] > 10, statuses
    assert back < 3, back
