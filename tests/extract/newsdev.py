"""The labelled news excerpts in /work/shared/corpora/news-dev (line 1 URL, line 2 a note)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

DEV = Path("/work/shared/corpora/news-dev")


def available() -> bool:
    return (DEV / "labels.json").exists()


def labels() -> dict[str, dict]:
    return json.loads((DEV / "labels.json").read_text()) if available() else {}


def article(name: str) -> str:
    """The excerpt without its URL and note lines."""
    return (DEV / name).read_text().split("\n", 2)[2]


def published(name: str) -> datetime.date:
    return datetime.date.fromisoformat(labels()[name]["date"])


def recall(found: int, total: int) -> float:
    return found / total if total else 1.0
