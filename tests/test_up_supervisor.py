"""`manage.py up`'s supervision on real child processes, without the servers: a child that
keeps dying is restarted with a doubling delay, said on screen with its exit reason and
counted, and a child that ran long enough starts over at the first delay."""

from __future__ import annotations

import io
import re
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management.base import OutputWrapper

from governance.management.commands import up


def _command() -> tuple[up.Command, io.StringIO]:
    """The command as handle() sets it up once the servers run, its screen a string."""
    screen = io.StringIO()
    command = up.Command()
    command.output = up._Output(OutputWrapper(screen))
    command.children = []
    command.child_env = {}
    command.preexec = None
    command.dump_done = threading.Event()
    return command, screen


def _supervise(command: up.Command, seconds: float) -> None:
    """The launcher's loop, for a while; then its stop."""
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            command._heal_children()
            time.sleep(0.05)
    finally:
        command._stop_children(timeout=5)


def test_a_child_that_keeps_dying_is_restarted_with_a_doubling_delay() -> None:
    command, screen = _command()
    command._spawn("worker", [sys.executable, "-c", "raise SystemExit(3)"])
    # Deaths at about 0, 1, 3 and 7 s: three restarts within 7.5 s.
    _supervise(command, 7.5)
    said = screen.getvalue()
    stopped = re.findall(
        r"the worker process stopped unexpectedly \(exit code 3\); "
        r"restarting it in (\d+)s \(restart (\d+)\)",
        said,
    )
    assert stopped[:4] == [("1", "1"), ("2", "2"), ("4", "3"), ("8", "4")], said
    restarted = re.findall(r"restarted the worker \(pid \d+; (\d+) restarts? so far\)", said)
    assert restarted == ["1", "2", "3"], said
    assert "up | restarts while running: worker 3" in said


def test_a_child_that_ran_long_enough_starts_over_at_the_first_delay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(up, "STABLE_AFTER", 1.5)
    command, screen = _command()
    # Dies at once the first time; restarted, it runs 2 s (longer than STABLE_AFTER).
    ran = tmp_path / "ran"
    script = (
        "import pathlib, sys, time\n"
        f"ran = pathlib.Path({str(ran)!r})\n"
        "if ran.exists(): time.sleep(2)\n"
        "ran.touch()\n"
        "sys.exit(1)\n"
    )
    command._spawn("beat", [sys.executable, "-c", script])
    _supervise(command, 6.5)
    stopped = re.findall(
        r"the beat process stopped unexpectedly \(exit code 1\); restarting it in (\d+)s",
        screen.getvalue(),
    )
    # The quick death waits 1 s; each later one, after 2 s of running, 1 s again (not 2, 4).
    assert stopped[:3] == ["1", "1", "1"], screen.getvalue()
