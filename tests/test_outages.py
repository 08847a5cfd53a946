"""Pulling the plug on Redis and on PostgreSQL while `manage.py up` runs (issue #8,
scenarios 2 and 3, and its "done when").

The tracker runs against servers this test owns, as it would against a user's own
(DATABASE_URL / REDIS_URL set), so the test decides how long each stays down. Redis keeps
nothing on disk, like the machine's: when it returns, every queued message is gone.
Feeds are served on 127.0.0.1; nothing leaves loopback.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import requests

from tests.ingest.feeds import PARAGRAPHS, rss
from tests.ingest.payload_server import PayloadServer
from tests.test_launcher import BASE_DIR, COLD_START, RUNNING, Launcher, launchers  # noqa: F401
from waic.services import EmbeddedPostgres, EmbeddedRedis, free_port

pytestmark = [pytest.mark.launcher, pytest.mark.jobs]

FEEDS = 12
BEAT_INTERVAL = 5.0  # seconds between the launched tracker's beat ticks
PAGES = ("/", "/statements/", "/countries/cn/", "/api/statements")


def sql(url: str, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg2.connect(url, connect_timeout=3) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall() if cur.description else []
    conn.close()
    return rows


def wait_until(condition: object, timeout: float, what: str, up: Launcher) -> float:
    """Seconds it took for condition() to hold."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.2)
    tail = "\n".join(up.output.splitlines()[-80:])
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; up said:\n{tail}")


def get(base: str, path: str) -> requests.Response:
    return requests.get(base + path, timeout=10, allow_redirects=False)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[EmbeddedPostgres, EmbeddedRedis]]:
    pg = EmbeddedPostgres(
        tmp_path / "pg", port=free_port(), log_file=tmp_path / "pg.log", durable=False
    )
    valkey = EmbeddedRedis(
        tmp_path / "redis", port=free_port(), log_file=tmp_path / "redis.log", durable=False
    )
    pg.start()
    valkey.start()
    yield pg, valkey
    valkey.stop()
    pg.stop()


@pytest.fixture
def feeds() -> Iterator[PayloadServer]:
    server = PayloadServer().start()
    for n in range(FEEDS):
        text = f"{PARAGRAPHS[n % len(PARAGRAPHS)]} (Wire story number {n}.)"  # one document each
        entry = {"title": f"Story {n}", "link": f"http://wire.test/{n}", "content": text}
        server.add(f"/feed-{n}.xml", body=rss([entry], title=f"Wire {n}"))
    yield server
    server.stop()


def add_sources(env: dict[str, str], feeds: PayloadServer) -> None:
    urls = [feeds.url(f"/feed-{n}.xml") for n in range(FEEDS)]
    code = (
        "from governance.models import Source\n"
        f"for n, url in enumerate({urls!r}):\n"
        "    Source.objects.create(name=f'wire {n}', kind='feed', url=url)\n"
    )
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


def test_up_rides_out_a_redis_outage_and_a_postgres_outage(
    tmp_path: Path,
    launchers: list[Launcher],  # noqa: F811
    servers: tuple[EmbeddedPostgres, EmbeddedRedis],
    feeds: PayloadServer,
) -> None:
    pg, valkey = servers
    env = {
        "DATABASE_URL": pg.url,
        "REDIS_URL": valkey.url,
        "INGEST_ALLOW_LOOPBACK": "true",
        "INGEST_BEAT_INTERVAL": str(BEAT_INTERVAL),
        # A fetch cut short by the database leaves its lease: let it lapse quickly.
        "INGEST_LEASE_SECONDS": "5",
        "INGEST_REENQUEUE_AFTER": "5",
    }
    up = Launcher(tmp_path / "var", port=free_port(), pg_port=0, redis_port=0, environ=env)
    launchers.append(up)
    base = up.wait_for(RUNNING, COLD_START).group(1).rstrip("/")
    up.wait_for(r"^worker \| .*celery@\S+ ready\.", 60)
    child_env = {**os.environ, **env}
    add_sources(child_env, feeds)
    wait_until(
        lambda: (
            sql(
                pg.url,
                "SELECT count(*) FROM governance_document WHERE url LIKE %s",
                ("http://wire.test/%",),
            )[0][0]
            == FEEDS
        ),
        60,
        "the first fetch of every feed",
        up=up,
    )

    # --- Redis unplugged ------------------------------------------------------------
    os.kill(valkey.pids()[0], signal.SIGKILL)
    up.wait_for(r"^up \| Redis at 127\.0\.0\.1:\d+ is unreachable .*pages keep working", 10)
    slowest = 0.0
    for path in PAGES:
        started = time.monotonic()
        response = get(base, path)
        slowest = max(slowest, time.monotonic() - started)
        assert response.status_code == 200, (path, response.status_code)
    assert slowest < 3, slowest
    print(f"Redis down: pages 200, slowest {slowest:.2f}s")
    # Every feed falls due while the broker is gone.
    sql(pg.url, "UPDATE governance_source SET next_fetch_at = now() WHERE url IS NOT NULL")
    time.sleep(BEAT_INTERVAL)  # a beat tick that cannot reach the broker
    back = time.monotonic()
    valkey.start()  # empty: the messages queued before the outage are gone
    up.wait_for(r"^up \| Redis at 127\.0\.0\.1:\d+ is back after", 10)
    up.wait_for(r"^worker \| .*Connected to redis://", 30)
    refetched = wait_until(
        lambda: (
            sql(
                pg.url,
                "SELECT count(*) FROM governance_source s WHERE url IS NOT NULL "
                "AND next_fetch_at > now()",
            )[0][0]
            == FEEDS
        ),
        4 * BEAT_INTERVAL,
        "every due feed to be fetched after Redis returned",
        up=up,
    )
    print(f"Redis back → every due feed fetched in {time.monotonic() - back:.1f}s")
    assert refetched <= BEAT_INTERVAL + 10, refetched  # one tick, plus the worker's reconnect

    # --- PostgreSQL unplugged -------------------------------------------------------
    feeds.routes["/feed-0.xml"].delay = 3  # in flight when the database goes
    sql(pg.url, "UPDATE governance_source SET next_fetch_at = now() WHERE url IS NOT NULL")
    running = "SELECT count(*) FROM governance_ingestrun WHERE outcome = 'running'"
    wait_until(
        lambda: sql(pg.url, running)[0][0] > 0,
        3 * BEAT_INTERVAL,
        "a fetch in flight",
        up=up,
    )
    postmaster = pg.postmaster()
    assert postmaster is not None
    os.kill(postmaster[0].pid, signal.SIGKILL)
    went = time.monotonic()
    up.wait_for(r"^up \| PostgreSQL at 127\.0\.0\.1:\d+ is unreachable .*pages answer 503", 10)
    slowest = 0.0
    for path in PAGES:
        started = time.monotonic()
        response = get(base, path)
        took = time.monotonic() - started
        slowest = max(slowest, took)
        assert response.status_code == 503, (path, response.status_code)
        assert took < 5, (path, took)
        assert response.headers["Retry-After"]
        if path.startswith("/api/"):
            assert "database is unavailable" in response.json()["detail"]
        else:
            assert "database is not answering" in response.text
    # An htmx request (a facet clicked) gets the notice alone, to swap into the page.
    fragment = requests.get(base + "/statements/?country=cn", headers={"HX-Request": "true"})
    assert fragment.status_code == 503
    assert "database is not answering" in fragment.text and "<html" not in fragment.text
    time.sleep(max(0.0, 2 * BEAT_INTERVAL - (time.monotonic() - went)))  # ticks while down
    pg.start()
    up.wait_for(r"^up \| PostgreSQL at 127\.0\.0\.1:\d+ is back after", 15)
    recovered = wait_until(
        lambda: get(base, "/statements/").status_code == 200, 15, "pages back", up=up
    )
    print(f"PostgreSQL down: slowest 503 {slowest:.2f}s; back → pages in {recovered:.1f}s")
    for path in PAGES:
        assert get(base, path).status_code == 200, path
    wait_until(
        lambda: (
            sql(
                pg.url,
                "SELECT count(*) FROM governance_source WHERE url IS NOT NULL "
                "AND next_fetch_at > now() AND lease_expires_at IS NULL",
            )[0][0]
            == FEEDS
        ),
        60,
        "every feed fetched again after PostgreSQL returned",
        up=up,
    )
    # Nothing duplicated: one document per story, whatever was retried or redelivered.
    rows = sql(
        pg.url,
        "SELECT count(*), count(DISTINCT url) FROM governance_document WHERE url LIKE %s",
        ("http://wire.test/%",),
    )
    assert rows == [(FEEDS, FEEDS)]
    # The fetch the outage cut short was retried by its task, not dropped.
    assert re.search(r"ingest_source\[[\w-]+\] retry: Retry in", up.output), up.output[-5000:]
    (tmp_path / "up.log").write_text(up.output)
    assert up.proc.poll() is None  # the launcher rode it out; so did its children
    assert "stopped unexpectedly" not in up.output
    assert up.interrupt() == 0, up.output
