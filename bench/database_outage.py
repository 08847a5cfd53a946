"""PostgreSQL hung (SIGSTOP) and killed under a real gunicorn: how soon pages answer 503,
whether any request gets a 500, how soon pages serve again (issue #25, "a 503 in time").

    uv run python bench/database_outage.py [--concurrency 10 50] [--rounds 3]

A throwaway PostgreSQL (waic.services.EmbeddedPostgres, on a free port, migrated and
seeded) behind gunicorn as `manage.py up` runs it (2 workers x 2 threads, persistent
connections). Requests carry a session cookie, so the anonymous page cache never answers
them: every one needs the database. For each concurrency c:

- hung: every PostgreSQL process SIGSTOPped after the web threads hold open connections;
  c requests at once (pages, an htmx fragment, the API); then SIGCONT, and the seconds
  until a page is served again;
- killed: c clients requesting in a loop while the postmaster is SIGKILLed, stays down
  3 s and is started again; every answer must be 200 or 503, and the seconds from the
  restart until pages are served are measured.

Each 503 must come within 3 s; no 500, no timeout. Exit 1 on a failed check. Writes
bench/database-outage.md. Redis: REDIS_URL (keys under a prefix of their own), or an
embedded one when it is unset.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from waic.services import EmbeddedPostgres, EmbeddedRedis, free_port  # noqa: E402

LIMIT = 3.0  # seconds within which a 503 must come
COOKIES = {"sessionid": "outage-bench"}  # bypasses the anonymous page cache
PATHS = (
    ("/", {}),
    ("/statements/", {}),
    ("/countries/cn/", {}),
    ("/people/", {}),
    ("/statements/?country=cn", {"HX-Request": "true", "HX-Target": "results"}),
    ("/api/statements", {}),
)


@dataclass
class Answer:
    path: str
    status: int | None  # None: no answer within the client's timeout
    seconds: float
    started: float
    body: str = ""


@dataclass
class OutageSite:
    """Embedded PostgreSQL + gunicorn (as `up` runs it) on free ports under workdir."""

    workdir: Path
    redis_url: str
    seed: bool = True
    workers: int = 2
    threads: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.pg = EmbeddedPostgres(
            self.workdir / "pg",
            port=free_port(),
            log_file=self.workdir / "pg.log",
            durable=False,
        )
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.web: subprocess.Popen[bytes] | None = None
        self.web_log = self.workdir / "web.log"
        prefix = f"outage-{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "DATABASE_URL": self.pg.url,
            "REDIS_URL": self.redis_url,
            "CACHE_KEY_PREFIX": prefix,
            "CELERY_QUEUE": prefix,
            "VAR_DIR": str(self.workdir / "var"),
            "PYTHONUNBUFFERED": "1",
            # The API's per-address limit would answer the looping clients 429.
            "API_RATE_LIMIT": "100000/min",
            **self.extra_env,
        }

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def start(self) -> None:
        self.pg.start()
        self.manage("migrate", "-v0")
        if self.seed:
            self.manage("seed")
        self.web = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "waic.wsgi:application"),
                *("--bind", f"127.0.0.1:{self.port}"),
                *("--workers", str(self.workers), "--threads", str(self.threads)),
                *("--error-logfile", "-", "--no-control-socket"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.web_log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.web.poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not serve:\n{self.web_log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.web is not None and self.web.poll() is None:
            os.killpg(self.web.pid, signal.SIGTERM)
            try:
                self.web.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.web.pid, signal.SIGKILL)
                self.web.wait(5)
        self.signal_postgres(signal.SIGCONT)
        self.pg.stop()

    def signal_postgres(self, signum: int) -> None:
        """Every PostgreSQL process: the postmaster and its backends, as a frozen host."""
        for pid in self.pg.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def kill_postgres(self) -> None:
        running = self.pg.postmaster()
        if running is not None:
            os.kill(running[0].pid, signal.SIGKILL)

    def get(self, path: str, headers: dict[str, str], timeout: float = 15) -> Answer:
        started = time.monotonic()
        try:
            r = requests.get(
                self.base + path,
                headers=headers,
                cookies=COOKIES,
                timeout=timeout,
                allow_redirects=False,
            )
            status, body = r.status_code, r.text
        except requests.RequestException as exc:
            status, body = None, repr(exc)
        return Answer(path, status, time.monotonic() - started, started, body)

    def burst(self, n: int) -> list[Answer]:
        """n requests at once, from n threads, over PATHS in turn."""
        barrier = threading.Barrier(n)
        answers: list[Answer] = []
        lock = threading.Lock()

        def one(i: int) -> None:
            path, headers = PATHS[i % len(PATHS)]
            barrier.wait()
            answer = self.get(path, headers)
            with lock:
                answers.append(answer)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return answers

    def warm(self, rounds: int = 3) -> None:
        """Every web thread serves a few pages: each holds an open connection."""
        for _ in range(rounds):
            answers = self.burst(4 * self.workers * self.threads)
            assert all(a.status == 200 for a in answers), [describe(a) for a in answers]

    def until_served(self, timeout: float = 30) -> float:
        """Seconds until pages needing the database are served again by every web
        process: a burst of twice as many requests as there are web threads all 200."""
        started = time.monotonic()
        n = 2 * self.workers * self.threads
        while time.monotonic() - started < timeout:
            if all(a.status == 200 for a in self.burst(n)):
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"pages not served again within {timeout:.0f}s")


class Load:
    """c clients requesting PATHS in a loop, every answer kept."""

    def __init__(self, site: OutageSite, clients: int) -> None:
        self.site = site
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(clients)
        ]

    def _client(self, i: int) -> None:
        n = i
        while not self.stopping.is_set():
            path, headers = PATHS[n % len(PATHS)]
            self.answers.append(self.site.get(path, headers))
            n += 1
            time.sleep(0.02)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(20)


def bad(answers: list[Answer]) -> list[Answer]:
    """Answers that break the promise: not 200 or 503, or a 503 later than LIMIT."""
    return [
        a for a in answers if a.status not in (200, 503) or (a.status == 503 and a.seconds >= LIMIT)
    ]


def describe(answer: Answer) -> str:
    return f"{answer.path} -> {answer.status} in {answer.seconds:.2f}s: {answer.body[:300]!r}"


def hung(site: OutageSite, concurrency: int) -> dict[str, float]:
    site.warm()
    site.signal_postgres(signal.SIGSTOP)
    try:
        answers = site.burst(concurrency)
        # And again once the verdict is known: the answer is then immediate.
        again = site.burst(concurrency)
    finally:
        site.signal_postgres(signal.SIGCONT)
    recovered = site.until_served()
    wrong = bad(answers + again)
    statuses = Counter(a.status for a in answers + again)
    assert not wrong and statuses[503] == 2 * concurrency, [describe(a) for a in wrong[:5]]
    return {
        "max": max(a.seconds for a in answers),
        "median": sorted(a.seconds for a in answers)[len(answers) // 2],
        "max_known": max(a.seconds for a in again),
        "recovered": recovered,
    }


def killed(site: OutageSite, concurrency: int, down_for: float = 3.0) -> dict[str, float]:
    site.warm(1)
    with Load(site, concurrency) as load:
        time.sleep(1.0)
        site.kill_postgres()
        time.sleep(down_for)
        site.pg.start()
        back = time.monotonic()
        recovered = site.until_served()
        time.sleep(1.0)
    answers = load.answers
    wrong = bad(answers)
    statuses = Counter(a.status for a in answers)
    assert not wrong, [describe(a) for a in wrong[:5]]
    assert statuses[503] > 0, statuses  # the outage was seen
    served_after = min(
        (a.started + a.seconds for a in answers if a.status == 200 and a.started >= back),
        default=back + recovered,
    )
    return {
        "requests": len(answers),
        "ok": statuses[200],
        "unavailable": statuses[503],
        "errors": len(answers) - statuses[200] - statuses[503],
        "max503": max(a.seconds for a in answers if a.status == 503),
        "recovered": max(recovered, served_after - back),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "database-outage.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="outage-") as tmp:
        workdir = Path(tmp)
        valkey = None
        redis_url = os.environ.get("REDIS_URL", "")
        if not redis_url:
            valkey = EmbeddedRedis(
                workdir / "redis", port=free_port(), log_file=workdir / "redis.log", durable=False
            )
            valkey.start()
            redis_url = valkey.url
        site = OutageSite(workdir, redis_url=redis_url)
        rows: list[str] = []
        failed = False
        try:
            site.start()
            for c in args.concurrency:
                for n in range(args.rounds):
                    try:
                        h = hung(site, c)
                        k = killed(site, c)
                    except AssertionError as exc:
                        failed = True
                        print(f"c={c} round {n + 1}: FAILED {exc}", flush=True)
                        continue
                    row = (
                        f"| {c} | {n + 1} | {h['median']:.2f} | {h['max']:.2f} | "
                        f"{h['max_known']:.2f} | {h['recovered']:.2f} | "
                        f"{k['requests']:.0f} ({k['ok']:.0f} / {k['unavailable']:.0f} / "
                        f"{k['errors']:.0f}) | {k['max503']:.2f} | {k['recovered']:.2f} |"
                    )
                    rows.append(row)
                    print(row, flush=True)
        finally:
            site.stop()
            if valkey is not None:
                valkey.stop()
            if failed:
                print((workdir / "web.log").read_text()[-6000:])
    header = [
        "# PostgreSQL hung and killed under gunicorn: 503s in time, no 500s",
        "",
        f"`uv run python bench/database_outage.py` — {time.strftime('%Y-%m-%d')}, "
        f"{platform.node()} ({os.cpu_count()} cores, shared with other work), gunicorn 2 "
        "workers x 2 threads, the seed data, persistent connections warmed on every "
        "thread. Requests carry a session cookie (no page cache), over pages, an htmx "
        "fragment and the API.",
        "",
        "Hung: every PostgreSQL process SIGSTOPped, then c requests at once, then c more "
        "(the verdict known), SIGCONT, seconds until every web process serves pages (a "
        "burst of 8 all 200). Killed: c clients in a loop, the postmaster SIGKILLed, 3 s "
        "down, started again; answers 200 / 503 / anything else, the slowest 503, and "
        "seconds from the restart until every web process serves pages (with the c "
        "clients still queued on its 4 threads). Every 503 must come within 3 s; "
        "anything else fails the run.",
        "",
        "| c | round | hung: median 503 s | hung: max 503 s | hung, known: max s | "
        "SIGCONT → served s | killed: answers (200 / 503 / other) | killed: max 503 s | "
        "restart → served s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    if not failed:
        args.output.write_text("\n".join(header + rows) + "\n")
        print(f"wrote {args.output}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
