"""The embedded servers of waic/services.py, run for real on 127.0.0.1 in a tmp dir."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg2
import pytest
import redis

from waic import services
from waic.services import EmbeddedPostgres, EmbeddedRedis, ServiceError, free_port

pytestmark = pytest.mark.launcher

BASE_DIR = Path(__file__).resolve().parent.parent


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


@contextlib.contextmanager
def _listen(port: int) -> Iterator[None]:
    """Occupy port like a server would (SO_REUSEADDR, listening)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((services.HOST, port))
        sock.listen()
        yield


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(
        tmp_path / "postgres", port=free_port(), log_file=tmp_path / "log" / "pg.log"
    )
    yield server
    server.stop()


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis", port=free_port(), log_file=tmp_path / "redis.log")
    yield server
    server.stop()


def test_postgres_serves_the_database_with_trigram_and_unaccent(pg: EmbeddedPostgres) -> None:
    pg.start()

    with psycopg2.connect(pg.url) as conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cur.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        cur.execute("SELECT current_database(), unaccent('Zürich'), similarity('Zürich', 'zürich')")
        assert cur.fetchone() == ("waic", "Zurich", 1.0)
    conn.close()


@pytest.mark.parametrize("left_by", ["dead process", "recycled pid"])
def test_postgres_starts_despite_a_stale_postmaster_pid(pg: EmbeddedPostgres, left_by: str) -> None:
    pg.start()
    pg.stop()
    if left_by == "dead process":
        finished = subprocess.Popen(["true"])
        finished.wait()
        pid = finished.pid
    else:
        pid = os.getpid()  # alive, but not a postgres: what a reboot can leave behind
    pid_file = pg.data_dir / "postmaster.pid"
    pid_file.write_text(f"{pid}\n{pg.data_dir}\n1700000000\n{pg.port}\n\n127.0.0.1\n  0 0\nready\n")

    pg.start()

    assert pg.live_port() == pg.port
    with psycopg2.connect(pg.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
    conn.close()


def test_postgres_adopts_a_server_left_running_or_moves_it(pg: EmbeddedPostgres) -> None:
    pg.start()
    postmaster = pg.pids()[0]

    # A new process finds the server a killed launcher left behind, on the same port.
    again = EmbeddedPostgres(pg.data_dir, port=pg.port, log_file=pg.log_file)
    again.start()
    assert again.pids()[0] == postmaster

    # Asked for another port (EMBEDDED_POSTGRES_PORT changed), it restarts there.
    moved = EmbeddedPostgres(pg.data_dir, port=free_port(), log_file=pg.log_file)
    moved.start()
    assert moved.live_port() == moved.port != pg.port
    assert _alive([postmaster]) == []
    moved.stop()


def test_postgres_port_in_use_is_a_one_line_error(pg: EmbeddedPostgres) -> None:
    with _listen(pg.port), pytest.raises(ServiceError) as raised:
        pg.start()

    message = str(raised.value)
    assert f"127.0.0.1:{pg.port} is already in use" in message
    assert "EMBEDDED_POSTGRES_PORT" in message
    assert "\n" not in message
    assert pg.pids() == []


def test_postgres_failing_to_start_names_its_log(pg: EmbeddedPostgres) -> None:
    pg.start()
    pg.stop()
    with (pg.data_dir / "postgresql.auto.conf").open("a") as conf:
        conf.write("shared_buffers = 'plenty'\n")

    with pytest.raises(ServiceError) as raised:
        pg.start()

    assert "failed to start" in str(raised.value)
    assert str(pg.log_file) in str(raised.value)
    assert "\n" not in str(raised.value)
    assert pg.pids() == []


def test_redis_keeps_queued_tasks_across_a_restart(valkey: EmbeddedRedis) -> None:
    valkey.start()
    client = redis.Redis.from_url(valkey.url)
    client.rpush("celery", "queued-task")
    assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    client.close()
    pid = valkey.pids()[0]

    valkey.stop()
    assert _alive([pid]) == []
    assert not valkey.pid_file.exists()
    valkey.start()

    client = redis.Redis.from_url(valkey.url)
    assert client.lrange("celery", 0, -1) == [b"queued-task"]
    client.close()


def test_redis_adopts_a_server_left_running(valkey: EmbeddedRedis) -> None:
    valkey.start()
    pid = valkey.pids()[0]

    again = EmbeddedRedis(valkey.data_dir, port=valkey.port, log_file=valkey.log_file)
    again.start()

    assert again.pids() == [pid]


def test_redis_port_in_use_is_a_one_line_error(valkey: EmbeddedRedis) -> None:
    with _listen(valkey.port), pytest.raises(ServiceError) as raised:
        valkey.start()

    assert f"127.0.0.1:{valkey.port} is already in use" in str(raised.value)
    assert "\n" not in str(raised.value)
    assert valkey.pids() == []


def test_shared_servers_stop_when_their_last_user_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDDED_POSTGRES_PORT", str(free_port()))
    monkeypatch.setenv("EMBEDDED_REDIS_PORT", str(free_port()))
    first = services.start_services(postgres=True, redis=True, base=tmp_path)
    try:
        second = services.start_services(postgres=True, redis=True, base=tmp_path)
        pids = first.server_pids()
        assert second.environ == first.environ
        assert second.server_pids() == pids

        first.stop()
        assert _alive(pids) == pids  # still in use by the second

        second.stop()
        assert _alive(pids) == []
        assert not (tmp_path / "run" / "postgres.json").exists()
    finally:
        first.stop()


def test_urls_set_means_nothing_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgres://someone@db.example:5432/waic")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/0")

    services.provide_services_for_command(["manage.py", "migrate"])

    assert os.environ["DATABASE_URL"] == "postgres://someone@db.example:5432/waic"
    assert list(tmp_path.iterdir()) == []


def test_help_and_up_only_get_the_planned_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("EMBEDDED_POSTGRES_PORT", "54001")
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("REDIS_URL")
    monkeypatch.setattr(services, "_deferred", {"postgres": False, "redis": False})

    services.provide_services_for_command(["manage.py", "up"])

    assert os.environ["DATABASE_URL"] == "postgres://postgres@127.0.0.1:54001/waic"
    assert services.deferred_services() == {"postgres": True, "redis": True}
    assert not (tmp_path / "postgres").exists()
    assert not (tmp_path / "redis").exists()


def test_a_management_command_gets_servers_for_its_duration(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        VAR_DIR=str(tmp_path),
        EMBEDDED_POSTGRES_PORT=str(free_port()),
        EMBEDDED_REDIS_PORT=str(free_port()),
    )
    code = (
        "import os; from django.db import connection; cur = connection.cursor();"
        "cur.execute('SELECT inet_server_port()');"
        "print(cur.fetchone()[0], os.environ['REDIS_URL'])"
    )

    shell = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.split()[-2:] == [
        env["EMBEDDED_POSTGRES_PORT"],
        f"redis://127.0.0.1:{env['EMBEDDED_REDIS_PORT']}/0",
    ]
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()
    assert not (tmp_path / "redis" / "valkey.pid").exists()
