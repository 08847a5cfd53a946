"""The labelled dev set and the seed article, shared by the actor and quote tests."""

from __future__ import annotations

import json
from pathlib import Path

SHARED = Path("/work/shared")
DEV_DIR = SHARED / "corpora" / "news-dev"
SEED_ARTICLE = SHARED / "seed" / "waic-2025-article.txt"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "extraction"


def dev_labels() -> dict[str, dict]:
    return json.loads((DEV_DIR / "labels.json").read_text(encoding="utf-8"))


def dev_text(name: str) -> str:
    """The article text: line 1 is the URL and line 2 a note about the excerpt."""
    return (DEV_DIR / name).read_text(encoding="utf-8").split("\n", 2)[2]


def dev_files() -> list[str]:
    return sorted(dev_labels()) if DEV_DIR.exists() else []
