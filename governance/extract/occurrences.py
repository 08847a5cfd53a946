"""Where a pattern that starts with a given literal matches: re.finditer's answer, faster.

A pattern that opens with a lookbehind ("(?<![\\w-])Li Qiang(?![\\w-])") keeps Python's
`re` from searching for its literal first: finditer tries the whole pattern at every
position of the text, about 50 µs for an article, for each name looked for. str.find
finds the places worth trying.
"""

from __future__ import annotations

import re
from collections.abc import Iterator


def matches(text: str, literal: str, pattern: re.Pattern[str]) -> Iterator[re.Match[str]]:
    """pattern.finditer(text), for a pattern every match of which starts with `literal`
    (a non-empty string): the same matches, in the same order."""
    at = text.find(literal)
    while at >= 0:
        if found := pattern.match(text, at):
            yield found
            at = text.find(literal, max(found.end(), at + 1))
        else:
            at = text.find(literal, at + 1)
