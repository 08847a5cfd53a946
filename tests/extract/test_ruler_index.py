"""The attribute ruler's indexed matcher finds what spaCy's Matcher finds
(governance/extract/ruler_index.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from spacy.pipeline import AttributeRuler

from governance.extract.nlp import english
from governance.extract.ruler_index import (
    IndexedRulerAnnotations,
    IndexedRulerMatch,
    UnsupportedPattern,
)
from tests.ingest.feeds import PARAGRAPHS

SEED = Path(__file__).resolve().parents[2] / "governance/fixtures/seed/waic-2025-article.txt"
# Words the two-token and regular-expression rules are about, and runs of whitespace.
COLLOQUIAL = (
    "So y'all gonna see it, ain't that so? Let's go, c'mon, we gotta win. Nothin' "
    "was left;  there is  a\n\nplan.\tIt does.   I did it, and it was given to you and me."
)


def _parsed(text: str):
    """The Doc as the attribute ruler gets it: tagged and parsed, nothing set yet."""
    nlp = english()
    with nlp.select_pipes(disable=["attribute_ruler", "lemmatizer", "ner"]):
        return nlp(text)


def _texts() -> list[str]:
    return [SEED.read_text(encoding="utf-8"), COLLOQUIAL, "\n\n".join(PARAGRAPHS), " ", ""]


def test_the_pipeline_uses_the_index() -> None:
    ruler = english().get_pipe("attribute_ruler")
    assert isinstance(ruler.match, IndexedRulerMatch)
    assert isinstance(ruler.set_annotations, IndexedRulerAnnotations)


@pytest.mark.parametrize("text", _texts(), ids=["seed", "colloquial", "feeds", "space", "empty"])
def test_the_same_matches_as_spacys_matcher(text: str) -> None:
    ruler = english().get_pipe("attribute_ruler")
    doc = _parsed(text)
    # Twice: the second time, every token's one-token matches are remembered ones.
    assert ruler.match(doc) == ruler.match(doc) == AttributeRuler.match(ruler, doc)


@pytest.mark.parametrize("text", _texts(), ids=["seed", "colloquial", "feeds", "space", "empty"])
def test_the_same_annotations_as_spacys(text: str) -> None:
    """Tag, part of speech, morphology and lemma of every token, set from the same
    matches by spaCy's set_annotations and by the index's (rules of several tokens, in
    the colloquial text, go spaCy's way)."""
    ruler = english().get_pipe("attribute_ruler")
    ours, theirs = _parsed(text), _parsed(text)
    matches = ruler.match(ours)
    ruler.set_annotations(ours, matches)
    AttributeRuler.set_annotations(ruler, theirs, matches)

    def annotations(doc: object) -> list[tuple[str, str, str, str]]:
        return [(t.tag_, t.pos_, str(t.morph), t.lemma_) for t in doc]

    assert annotations(ours) == annotations(theirs)


def test_the_rules_of_several_tokens_and_expressions_match() -> None:
    """The colloquial text exercises what the index treats specially (so the comparison
    above could fail): rules filed under their second token, regular expressions, flags."""
    ruler = english().get_pipe("attribute_ruler")
    doc = _parsed(COLLOQUIAL)
    spans = {
        " ".join(token.lower_ for token in doc[start:end])
        for _, _, start, end in ruler.match(doc)
        if end > start + 1
    }
    assert {"gon na", "got ta", "let 's", "y' all", "c'm on", "ai n't", "there is"} <= spans
    lemmas = {token.text: token.lemma_ for token in english()(COLLOQUIAL)}
    assert lemmas["Nothin'"] == "nothing"


def test_later_rules_win() -> None:
    nlp = english()
    ruler = AttributeRuler(nlp.vocab)
    ruler.add_patterns(
        [
            {"patterns": [[{"LOWER": "plan"}]], "attrs": {"LEMMA": "first"}},
            {"patterns": [[{"TAG": "NN"}]], "attrs": {"LEMMA": "second"}},
        ]
    )
    ruler.match = IndexedRulerMatch(ruler)
    doc = ruler(_parsed("a plan"))
    assert doc[1].lemma_ == "second"


@pytest.mark.parametrize(
    "spec",
    [
        {"LOWER": "plan", "OP": "+"},  # a quantifier: not a fixed length
        {"_": {"flag": True}},  # an extension attribute
        {"LENGTH": 4},  # a number
        {"LOWER": {"FUZZY": "plan"}},
    ],
)
def test_a_rule_it_cannot_read_leaves_spacys_matcher(spec: dict) -> None:
    ruler = AttributeRuler(english().vocab)
    ruler.add_patterns([{"patterns": [[spec]], "attrs": {"LEMMA": "x"}}])
    with pytest.raises(UnsupportedPattern):
        IndexedRulerMatch(ruler)
