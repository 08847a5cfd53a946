"""occurrences.matches: what re.finditer finds for a pattern that starts with a literal,
found by str.find first (the patterns the rules look for names with)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from governance.extract.occurrences import matches
from governance.extract.organizations import _alias_patterns

NAMES = ["UN", "OECD", "Li", "Li Qiang", "WAIC", "AI Action Summit", "G7", "UNUN"]
# The shapes the rules use: an organization alias, a person's short form, an event's
# short name with an optional year after it.
SHAPES = [
    lambda name: rf"(?<![\w@#/.-]){re.escape(name)}(?![\w-])",
    lambda name: rf"(?<![\w-]){re.escape(name)}(?![\w-])",
    lambda name: rf"(?<![\w-]){re.escape(name)}(?:[ \t]+(?P<year>(?:19|20)\d{{2}}))?(?![\w-])",
]
PIECES = st.lists(
    st.sampled_from(NAMES + [alias for alias, _, _ in _alias_patterns()])
    | st.sampled_from([" ", " 2025", "-", "/", ".", "@", "#", "’s ", "x", "é", "\n", "_", "\t"])
    | st.text(max_size=4),
    max_size=14,
)


@settings(max_examples=400, deadline=None)
@given(pieces=PIECES, name=st.sampled_from(NAMES), shape=st.sampled_from(SHAPES))
def test_the_matches_are_finditers(pieces: list[str], name: str, shape) -> None:
    text = "".join(pieces)
    pattern = re.compile(shape(name))
    expected = [(m.span(), m.groups()) for m in pattern.finditer(text)]
    assert [(m.span(), m.groups()) for m in matches(text, name, pattern)] == expected


@settings(max_examples=200, deadline=None)
@given(pieces=PIECES)
def test_every_organization_alias_is_found_where_its_pattern_matches(pieces: list[str]) -> None:
    text = "".join(pieces)
    for alias, _, pattern in _alias_patterns():
        expected = [m.span() for m in pattern.finditer(text)]
        assert [m.span() for m in matches(text, alias, pattern)] == expected, alias
