"""Deterministic sampling helpers: weighted and Zipf choices, dates as ordinals."""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

DATE_START = dt.date(2019, 1, 1)
DATE_END = dt.date(2026, 10, 31)
FIRST_DAY = DATE_START.toordinal()
LAST_DAY = DATE_END.toordinal()


class Weighted[T]:
    """Pick items with fixed relative weights; bisect over cumulative weights is O(log n)."""

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        if not items:
            raise ValueError("nothing to choose from")
        self.items = list(items)
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect_right(self.cum, rng.random() * self.total)]

    def __len__(self) -> int:
        return len(self.items)


def zipf[T](items: Sequence[T], s: float = 1.05, q: float = 8.0) -> Weighted[T]:
    """Zipf-Mandelbrot weights 1/(rank+q)^s: a few items dominate, as speakers and topics
    do in the news; q keeps the very first from taking a tenth of everything."""
    return Weighted(items, [1.0 / ((rank + q) ** s) for rank in range(1, len(items) + 1)])


def news_day(rng: random.Random) -> int:
    """A day in the range, skewed towards recent years (AI-governance news keeps growing)."""
    return FIRST_DAY + int((LAST_DAY - FIRST_DAY) * rng.random() ** 0.6)


def day(ordinal: int) -> dt.date:
    return dt.date.fromordinal(ordinal)
