"""`manage.py up` compiles the environment's bytecode where Python would cache none."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import django
import pytest

from governance.management.commands import up


def test_nothing_to_compile_where_python_caches_bytecode(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(up, "_COMPILED_MARKER", tmp_path / "marker")
    assert up._bytecode_to_compile(dont_write_bytecode=False) == (False, False)


def test_compiled_once_where_python_caches_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    monkeypatch.setattr(up, "_COMPILED_MARKER", marker)
    compiled = Path(importlib.util.cache_from_source(django.__file__)).exists()
    assert up._bytecode_to_compile(dont_write_bytecode=True) == (True, not compiled)
    marker.touch()
    assert up._bytecode_to_compile(dont_write_bytecode=True) == (False, False)


def test_the_compile_writes_bytecode_and_the_marker(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The real compileall over a small tree, as `up` runs it, then its completion noted."""
    package = tmp_path / "site"
    package.mkdir()
    (package / "mod.py").write_text("VALUE = 1\n")
    marker = tmp_path / "marker"
    monkeypatch.setattr(up, "_COMPILED_MARKER", marker)
    monkeypatch.setattr(up.sysconfig, "get_path", lambda name: str(package))
    command = up.Command()
    said: list[str] = []
    monkeypatch.setattr(command, "say", said.append)
    command._compile_bytecode()
    assert command.compiling is not None
    command.compiling.wait(timeout=60)
    command._note_compiled()
    assert Path(importlib.util.cache_from_source(str(package / "mod.py"))).exists()
    assert marker.exists() and command.compiling is None
    assert said[0].startswith("compiling the environment's bytecode once")
    assert said[1].startswith("bytecode compiled in")
