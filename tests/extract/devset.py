"""Test data outside the project: the labelled news excerpts in ../shared (beside the
checkout, as in CI; SHARED_DIR overrides), and the seed article (in the project)."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("SHARED_DIR") or ROOT.parent / "shared")
DEV_DIR = SHARED / "corpora" / "news-dev"
SEED_ARTICLE = ROOT / "governance" / "fixtures" / "seed" / "waic-2025-article.txt"
FIXTURES = ROOT / "tests" / "fixtures" / "extraction"


def available() -> bool:
    return (DEV_DIR / "labels.json").exists()


def dev_labels() -> dict[str, dict]:
    return json.loads((DEV_DIR / "labels.json").read_text(encoding="utf-8")) if available() else {}


def dev_text(name: str) -> str:
    """The article text: line 1 is the URL and line 2 a note about the excerpt."""
    return (DEV_DIR / name).read_text(encoding="utf-8").split("\n", 2)[2]


def dev_files() -> list[str]:
    """The first round of labelled files: the rules were developed on them and the tests
    hold extraction to their labels. The files added later (their labels name the quotation
    `styles` they exercise) are held out for the quotation work and scored apart."""
    return sorted(name for name, label in dev_labels().items() if "styles" not in label)


def added_files() -> list[str]:
    """The held-out files: the tests only check that extraction reads them soundly."""
    return sorted(name for name, label in dev_labels().items() if "styles" in label)


def published(name: str) -> datetime.date:
    return datetime.date.fromisoformat(dev_labels()[name]["date"])


def recall(found: int, total: int) -> float:
    return found / total if total else 1.0


# The names the figure, date and proposal tests use.
labels = dev_labels
article = dev_text
