"""Cold start: `manage.py up` on a fresh data directory until the first page is served.

    from bench.perf import cold_start
    result = cold_start.measure(runs=3)

Each run is what a newcomer's first start does, the environment aside (uv has already
installed it): `uv run python manage.py up` with DATABASE_URL and REDIS_URL unset, so
it creates and starts an embedded PostgreSQL and Redis in an empty VAR_DIR, migrates,
loads the seed and starts web, worker and beat. The clock runs from the command's start
to the first answer of `/` that shows a seed fact. Then Ctrl-C (SIGINT) stops it and the
run checks it exited 0. Ports are free ones, so a run never meets the embedded servers of
a caller (bench/run without DATABASE_URL) or of a developer's `up`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.perf.http_load import free_port

ROOT = Path(__file__).resolve().parents[2]
SEED_FACT = "Li Qiang"  # on the dashboard once the seed is loaded
LIMIT = 180.0  # seconds a run may take to serve before it counts as failed
STOP_LIMIT = 60.0


@dataclass(frozen=True)
class ColdStart:
    seconds: list[float]  # each run's time to the first page

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def describe(self) -> str:
        runs = ", ".join(f"{s:.1f}" for s in self.seconds)
        return (
            f"`uv run python manage.py up` on an empty VAR_DIR (embedded PostgreSQL and "
            f"Redis created, migrated, seeded) to the first page: {runs} s, median "
            f"{self.median:.1f} s"
        )


def _first_page(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return SEED_FACT in response.read().decode("utf-8", "replace")
    except OSError:
        return False


def once() -> float:
    """Seconds from starting `manage.py up` on an empty VAR_DIR to its first page."""
    var_dir = Path(tempfile.mkdtemp(prefix="waic-cold-"))
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env |= {
        "VAR_DIR": str(var_dir),
        "EMBEDDED_POSTGRES_PORT": str(free_port()),
        "EMBEDDED_REDIS_PORT": str(free_port()),
    }
    with (var_dir / "up.log").open("wb") as log:  # kept on failure, with var_dir
        started = time.perf_counter()
        up = subprocess.Popen(
            ["uv", "run", "--frozen", "python", "manage.py", "up", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while not _first_page(f"http://127.0.0.1:{port}/"):
                if up.poll() is not None:
                    raise RuntimeError(f"manage.py up exited {up.returncode}; see {log.name}")
                if time.perf_counter() - started > LIMIT:
                    raise TimeoutError(f"manage.py up served nothing in {LIMIT:.0f} s")
                time.sleep(0.1)
            seconds = time.perf_counter() - started
            up.send_signal(signal.SIGINT)
            if up.wait(STOP_LIMIT) != 0:
                raise RuntimeError(f"manage.py up exited {up.returncode} on Ctrl-C")
        finally:
            if up.poll() is None:
                os.killpg(up.pid, signal.SIGKILL)
                up.wait()
                _kill_left_in(var_dir)
    shutil.rmtree(var_dir, ignore_errors=True)
    return seconds


def _kill_left_in(var_dir: Path) -> None:
    """The embedded servers of a run that failed (they outlive a killed `up`)."""
    import psutil

    for proc in psutil.process_iter(["cmdline"]):
        if any(str(var_dir) in part for part in proc.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):
                proc.kill()


def measure(runs: int = 3) -> ColdStart:
    return ColdStart([once() for _ in range(runs)])


if __name__ == "__main__":
    print(measure().describe())
