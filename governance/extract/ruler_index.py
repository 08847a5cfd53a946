"""The attribute ruler's matches, found through an index of its patterns.

spaCy's AttributeRuler (POS from tags, lemma and morphology exceptions) asks a Matcher
for every match of its 179 rules, and the Matcher tries every rule at every token:
~6 ms of a 2,300-character article's ~60 in en_core_web_md. Looking each token's
lowercase text, dependency, space flag and tag up in an index of the rules gives the
same matches in well under 2 ms.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import NamedTuple

from spacy.attrs import IDS
from spacy.pipeline import AttributeRuler
from spacy.tokens import Doc
from spacy.tokens._retokenize import set_token_attrs


class UnsupportedPattern(ValueError):
    """A Matcher pattern IndexedRulerMatch cannot evaluate exactly."""


# What a pattern may test: attributes the Matcher compares as strings, and flags.
_STRING_ATTRIBUTES = {"ORTH", "LOWER", "NORM", "TAG", "POS", "DEP", "LEMMA", "SHAPE", "ENT_TYPE"}
_FLAGS = {"IS_SPACE", "IS_PUNCT", "IS_ALPHA", "IS_DIGIT", "IS_LOWER", "IS_UPPER", "IS_TITLE"}
# Token attribute sets remembered (each a few hundred bytes): enough for a vocabulary,
# forgotten all at once past it.
_REMEMBER = 200_000
# A pattern is filed under one of its tokens' required values, most selective first.
_INDEX_BY = ("LOWER", "DEP", "IS_SPACE", "TAG")

# A test of the token at an index, given the doc's attribute columns (to_array's ints:
# string ids, as the Matcher compares them, or 0/1 for flags).
type _Columns = dict[str, list[int]]
type _TokenTest = Callable[[_Columns, int], bool]


class _Pattern(NamedTuple):
    ordinal: int  # the rule's position: later rules win
    match_id: int
    tests: list[_TokenTest | None]  # one per token; None: nothing to test
    offset: int  # which token the index filed it under


class IndexedRulerMatch:
    """AttributeRuler.match with the same result, found by looking each token's attributes
    up in an index of the patterns instead of trying every pattern at every token.

    Supports fixed-length patterns of plain attribute tests (a string, IN, NOT_IN, REGEX)
    and boolean flags; anything else raises UnsupportedPattern at construction, and the
    ruler keeps spaCy's matcher. tests/extract/test_ruler_index.py compares the two."""

    def __init__(self, ruler: AttributeRuler) -> None:
        self.strings = ruler.vocab.strings
        self.attributes: set[str] = set()
        index: dict[str, dict[int, list[_Pattern]]] = {}
        self.unindexed: list[_Pattern] = []
        for ordinal, group in enumerate(ruler.patterns):
            match_id = self.strings[str(ordinal)]
            for pattern in group["patterns"]:
                if not pattern:
                    raise UnsupportedPattern("an empty pattern")
                filed = self._index_keys(pattern)
                if filed is None:
                    tests = [self._token_test(spec) for spec in pattern]
                    self.unindexed.append(_Pattern(ordinal, match_id, tests, 0))
                    continue
                offset, attribute, values = filed
                # The index has tested that key already: the token's other keys are left.
                tests = [
                    self._token_test(spec, skip=attribute if i == offset else None)
                    for i, spec in enumerate(pattern)
                ]
                entry = _Pattern(ordinal, match_id, tests, offset)
                for value in values:
                    index.setdefault(attribute, defaultdict(list))[value].append(entry)
        self.index = [(attribute, dict(entries)) for attribute, entries in index.items()]
        self.attributes |= set(index)
        self.columns = sorted(self.attributes)
        self.attribute_ids = [IDS[attribute] for attribute in self.columns]
        # What the rules of one token match for a token with these attributes (all that
        # any rule reads): a token like one seen before costs a lookup.
        self._single: dict[tuple[int, ...], tuple[tuple[int, int], ...]] = {}
        # The rules of several tokens, tried at each token as before.
        self.index_of_several = [
            (attribute, several)
            for attribute, entries in self.index
            if (
                several := {
                    value: [p for p in patterns if len(p.tests) > 1]
                    for value, patterns in entries.items()
                    if any(len(p.tests) > 1 for p in patterns)
                }
            )
        ]
        self.unindexed_of_several = [p for p in self.unindexed if len(p.tests) > 1]

    def _value_test(self, attribute: str, value: object) -> _TokenTest:
        if isinstance(value, str):
            wanted = self.strings[value]
            return lambda columns, i: columns[attribute][i] == wanted
        if not isinstance(value, dict) or not value or set(value) - {"IN", "NOT_IN", "REGEX"}:
            raise UnsupportedPattern(f"{attribute}: {value!r}")
        tests: list[_TokenTest] = []
        if "IN" in value:
            allowed = frozenset(self.strings[v] for v in value["IN"])
            tests.append(lambda columns, i: columns[attribute][i] in allowed)
        if "NOT_IN" in value:
            refused = frozenset(self.strings[v] for v in value["NOT_IN"])
            tests.append(lambda columns, i: columns[attribute][i] not in refused)
        if "REGEX" in value:
            search, strings = re.compile(value["REGEX"]).search, self.strings
            tests.append(lambda columns, i: search(strings[columns[attribute][i]]) is not None)
        return tests[0] if len(tests) == 1 else lambda c, i: all(test(c, i) for test in tests)

    def _token_test(self, spec: dict[str, object], skip: str | None = None) -> _TokenTest | None:
        """The test of one token of a pattern (None: it has nothing left to test)."""
        tests: list[_TokenTest] = []
        for key, value in spec.items():
            if key == skip:
                pass
            elif key in _STRING_ATTRIBUTES:
                tests.append(self._value_test(key, value))
            elif key in _FLAGS and isinstance(value, bool):
                tests.append(lambda columns, i, flag=key, want=int(value): columns[flag][i] == want)
            else:  # OP, extensions, numbers, fuzzy matching...: the Matcher's own business
                raise UnsupportedPattern(f"{key}: {value!r}")
            self.attributes.add(key)
        if len(tests) <= 1:
            return tests[0] if tests else None
        return lambda columns, i: all(test(columns, i) for test in tests)

    def _index_keys(self, pattern: list[dict[str, object]]) -> tuple[int, str, list[int]] | None:
        """A token of `pattern`, an attribute and the values it must have one of."""
        for key in _INDEX_BY:
            for offset, spec in enumerate(pattern):
                value = spec.get(key)
                if key in _FLAGS and isinstance(value, bool):
                    return offset, key, [int(value)]
                if isinstance(value, str):
                    return offset, key, [self.strings[value]]
                if isinstance(value, dict) and set(value) == {"IN"}:
                    return offset, key, [self.strings[v] for v in value["IN"]]
        return None

    def __call__(self, doc: Doc) -> list[tuple[int, int, int, int]]:
        if not len(doc):
            return []
        table = doc.to_array(self.attribute_ids)
        rows = table.tolist()  # a token's attributes, in self.columns' order
        columns = dict(zip(self.columns, table.T.tolist(), strict=True))
        length = len(doc)
        found: set[tuple[int, int, int, int]] = set()

        def consider(pattern: _Pattern, at: int) -> None:
            start = at - pattern.offset
            end = start + len(pattern.tests)
            if (
                start >= 0
                and end <= length
                and all(
                    test is None or test(columns, i)
                    for i, test in enumerate(pattern.tests, start=start)
                )
            ):
                found.add((pattern.ordinal, pattern.match_id, start, end))

        for at, row in enumerate(rows):
            # Most rules are of one token: whether they match depends only on the
            # attributes read, so a token like one seen before matches as it did.
            key = tuple(row)
            single = self._single.get(key)
            if single is None:
                single = self._single_matches(columns, at)
                if len(self._single) >= _REMEMBER:
                    self._single.clear()
                self._single[key] = single
            found.update((ordinal, match_id, at, at + 1) for ordinal, match_id in single)
            for attribute, filed in self.index_of_several:
                for pattern in filed.get(columns[attribute][at], ()):
                    consider(pattern, at)
            for pattern in self.unindexed_of_several:
                consider(pattern, at)
        # In the rules' order, as spaCy sorts them: a later rule has precedence.
        return sorted(found)

    def _single_matches(self, columns: _Columns, at: int) -> tuple[tuple[int, int], ...]:
        """(ordinal, match id) of each rule of one token that the token at `at` matches."""
        matched = set()
        for attribute, filed in self.index:
            for pattern in filed.get(columns[attribute][at], ()):
                test = pattern.tests[0]  # most rules: often nothing left to test
                if len(pattern.tests) == 1 and (test is None or test(columns, at)):
                    matched.add((pattern.ordinal, pattern.match_id))
        for pattern in self.unindexed:
            test = pattern.tests[0]
            if len(pattern.tests) == 1 and (test is None or test(columns, at)):
                matched.add((pattern.ordinal, pattern.match_id))
        return tuple(matched)


class IndexedRulerAnnotations:
    """AttributeRuler.set_annotations with the same result, less a Span for each match of
    one token (all of en_core_web_md's, ~500 an article): its token is set directly."""

    def __init__(self, ruler: AttributeRuler) -> None:
        self.ruler = ruler

    def __call__(self, doc: Doc, matches: list[tuple[int, int, int, int]]) -> None:
        attrs, indices = self.ruler.attrs, self.ruler.indices
        for match in matches:
            attr_id, _, start, end = match
            if end == start + 1 and indices[attr_id] in (0, -1):
                set_token_attrs(doc[start], attrs[attr_id])
            else:  # spaCy's own way, with its check of the index
                AttributeRuler.set_annotations(self.ruler, doc, [match])
