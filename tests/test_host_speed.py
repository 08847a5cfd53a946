"""bench/perf/host_speed.py: the host's own extraction speed, as bench/run reports it; and
the commit the report names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench.perf import host_speed, report


def test_it_times_the_parse_and_the_rules_of_payload_articles() -> None:
    speed = host_speed.measure(articles=4)
    assert speed["articles"] == 4 and speed["characters"] > 500
    assert speed["parse_ms"] > 0 and speed["rules_ms"] > 0
    line = report._host_speed_line(speed)[0]
    assert f"spaCy's parse {speed['parse_ms']:.1f} ms" in line
    assert f"the rules {speed['rules_ms']:.1f} ms" in line


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("fpu sse4_2 avx2 fma avx512f avx512bw", "AVX-512"),
        ("fpu sse4_2 avx avx2 fma", "AVX2"),
        ("fpu sse4_2", "SSE4.2"),
        ("fpu", "unknown"),
    ],
)
def test_it_names_the_widest_vector_instructions(
    flags: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n")
    monkeypatch.setattr(host_speed, "CPUINFO", cpuinfo)
    assert host_speed.vector_instructions() == expected


def test_a_run_without_the_figure_reports_nothing_of_it() -> None:
    assert report._host_speed_line(None) == []


def test_the_report_names_the_commit_measured(tmp_path: Path) -> None:
    from bench.perf import main

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    assert main.checkout(tmp_path) == "unknown"
    git("init", "-q")
    (tmp_path / "bench").mkdir()
    for name in ("app.py", "bench/RESULTS.md"):
        (tmp_path / name).write_text("one\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@127.0.0.1", "commit", "-qm", "one")
    head = subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.strip()
    (tmp_path / "bench/RESULTS.md").write_text("a run's figures\n")
    (tmp_path / "notes.txt").write_text("untracked\n")
    assert main.checkout(tmp_path) == head
    (tmp_path / "app.py").write_text("two\n")
    assert main.checkout(tmp_path) == f"{head} with uncommitted changes"
